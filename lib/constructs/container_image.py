"""Container images for Lambda: a content-addressed tag known at synth time.

A function shipped as an image is built from ``lib/lambda/<system>/<function>/``
(its ``Dockerfile`` beside the code). The image *tag* is a hash of that
directory's files (the same file selection as the zip packages), so:

* the function's ``image_uri`` is known when synthesizing, and a plan needs no
  image to exist;
* a code change is a new tag, so a new ``image_uri``, so Terraform updates the
  function; no change means no diff;
* with ``IMMUTABLE`` tags in the repository, a tag names exactly one digest:
  what was deployed cannot be overwritten under the same name.

A stack records the images it needs (:class:`ContainerImage`) in its
``container_images`` list; ``lib/app.py`` writes them into the synth metadata
and ``scripts/tapctl/stages/images.py`` pushes them before that stack is applied.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.constructs.packaging import LAMBDA_ROOT, ROOT, PackagingError, iter_package_files

#: Lambda supports these platforms for images; the tag records which one was built.
PLATFORMS = {"arm64": "linux/arm64", "x86_64": "linux/amd64"}
TAG_PREFIX = "src-"
_CMD = re.compile(r"^\s*CMD\s+(\[.*\])\s*$", re.MULTILINE)


def content_tag(source: Path, *, architecture: str) -> str:
    """``src-<24 hex>``: a hash of every file's path and bytes, plus the architecture."""
    files = iter_package_files(source)
    if not any(name == "Dockerfile" for name, _ in files):
        raise PackagingError(f"image source {source} has no Dockerfile")
    digest = hashlib.sha256(f"platform={PLATFORMS[architecture]}\n".encode())
    for name, path in files:
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return TAG_PREFIX + digest.hexdigest()[:24]


def dockerfile_command(source: Path) -> list[str]:
    """The exec-form ``CMD`` of the image's Dockerfile (the Lambda handler)."""
    matches = _CMD.findall((source / "Dockerfile").read_text(encoding="utf-8"))
    if not matches:
        raise PackagingError(f'{source}/Dockerfile has no exec-form CMD ["module.function"]')
    command = json.loads(matches[-1])
    if not (isinstance(command, list) and command and all(isinstance(c, str) for c in command)):
        raise PackagingError(f"{source}/Dockerfile CMD must be a JSON list of strings")
    return command


def registry(account_id: str, region: str) -> str:
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com"


@dataclass(frozen=True)
class ContainerImage:
    """One image a stack needs pushed before it is applied."""

    #: ECR repository name (in the stack's account and region).
    repository: str
    account_id: str
    region: str
    #: Build context, relative to the repository root (holds the Dockerfile).
    context: str
    tag: str
    architecture: str
    #: The Dockerfile's CMD (also set on the function, so both agree).
    command: tuple[str, ...]

    @classmethod
    def for_function(
        cls,
        *,
        system: str,
        function: str,
        repository: str,
        account_id: str,
        region: str,
        architecture: str = "arm64",
    ) -> ContainerImage:
        if architecture not in PLATFORMS:
            raise PackagingError(f"architecture {architecture!r} is not one of {', '.join(PLATFORMS)}")
        source = LAMBDA_ROOT / system / function
        return cls(
            repository=repository,
            account_id=account_id,
            region=region,
            context=source.relative_to(ROOT).as_posix(),
            tag=content_tag(source, architecture=architecture),
            architecture=architecture,
            command=tuple(dockerfile_command(source)),
        )

    @property
    def platform(self) -> str:
        return PLATFORMS[self.architecture]

    @property
    def repository_url(self) -> str:
        return f"{registry(self.account_id, self.region)}/{self.repository}"

    @property
    def uri(self) -> str:
        return f"{self.repository_url}:{self.tag}"

    def to_metadata(self) -> dict[str, Any]:
        """The entry in ``tap-synth.json`` (what the push step reads)."""
        return {
            "repository": self.repository,
            "account_id": self.account_id,
            "region": self.region,
            "context": self.context,
            "tag": self.tag,
            "platform": self.platform,
            "command": list(self.command),
            "uri": self.uri,
        }
