"""Push a stack's container images before the stack is applied.

``lib/app.py`` records, per stack, the images its functions use (repository,
build context, content-hash tag; see ``lib/constructs/container_image.py``).
``stages.apply.apply`` calls :func:`publish` for a stack right before applying
it; stacks are applied in dependency order, so the repositories (stack
``transaction_images``) exist by then.

* **Real AWS**: ``docker buildx build --platform linux/arm64 --push`` after an
  ECR login with a token from ``ecr:GetAuthorizationToken``. Provenance and
  SBOM attestations are off: they turn the push into an image *index*, which
  Lambda does not accept.
* **Embedded AWS** (no Docker engine): the image is *registered* with
  ``ecr:PutImage``: a valid OCI image manifest whose config carries the
  Dockerfile's ``CMD`` and whose one layer digest is that of a deterministic
  tarball of the build context. No base image, no layer upload: it is enough
  for Lambda to create the function from the tag, and for the invoke helper
  to find the code (annotation ``org.opencontainers.image.source``).

Tags are immutable and content-addressed: an image whose tag is already in the
repository is never rebuilt or re-pushed.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.tapctl.core import paths, ui
from scripts.tapctl.core.cloud import Cloud
from scripts.tapctl.core.errors import StageFailed, TapError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
#: Annotations of an emulated image (the invoke helper reads the first two).
SOURCE_ANNOTATION = "org.opencontainers.image.source"
TAG_ANNOTATION = "dev.tap.content-tag"
EMULATED_ANNOTATION = "dev.tap.emulated"
LAMBDA_TASK_ROOT = "/var/task"
BUILD_TIMEOUT = 1800


@dataclass(frozen=True)
class ImageSpec:
    """One entry of ``stacks.<stack>.images`` in ``tap-synth.json``."""

    repository: str
    account_id: str
    region: str
    context: str
    tag: str
    platform: str
    command: tuple[str, ...]
    uri: str

    @classmethod
    def from_metadata(cls, raw: Mapping[str, Any]) -> ImageSpec:
        try:
            return cls(
                repository=raw["repository"],
                account_id=raw["account_id"],
                region=raw["region"],
                context=raw["context"],
                tag=raw["tag"],
                platform=raw["platform"],
                command=tuple(raw["command"]),
                uri=raw["uri"],
            )
        except KeyError as exc:
            raise TapError(
                f"an image in the synth metadata lacks {exc}: re-run `scripts/tap synth`"
            ) from None

    @property
    def context_dir(self) -> Path:
        return paths.ROOT / self.context

    @property
    def architecture(self) -> str:
        return self.platform.split("/", 1)[1]


def images_of(metadata: Mapping[str, Any], stack: str) -> list[ImageSpec]:
    return [ImageSpec.from_metadata(raw) for raw in metadata["stacks"][stack].get("images", [])]


def _client(cloud: Cloud, region: str) -> Any:
    return cloud.client("ecr", region)


def existing_digest(ecr: Any, spec: ImageSpec) -> str | None:
    """The digest the tag names in the repository, or None if the tag is not there."""
    try:
        resp = ecr.describe_images(repositoryName=spec.repository, imageIds=[{"imageTag": spec.tag}])
    except ecr.exceptions.ImageNotFoundException:
        return None
    except ecr.exceptions.RepositoryNotFoundException:
        raise TapError(
            f"ECR repository {spec.repository} does not exist in {spec.region}: apply the stack "
            "that creates it first (transaction_images)"
        ) from None
    details = resp.get("imageDetails", [])
    return details[0]["imageDigest"] if details else None


# -- the emulated push -------------------------------------------------------------


def context_layer(context: Path) -> tuple[bytes, bytes]:
    """(tar, tar.gz) of the build context's files under /var/task: deterministic bytes."""
    from lib.constructs.packaging import iter_package_files

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in iter_package_files(context):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{LAMBDA_TASK_ROOT.lstrip('/')}/{name}")
            info.size, info.mode, info.mtime, info.uid, info.gid = len(data), 0o644, 0, 0, 0
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return tar_bytes, gzip.compress(tar_bytes, mtime=0)


def sha256(data: bytes) -> str:
    """``sha256:<hex>``, as OCI names a digest."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def emulated_manifest(spec: ImageSpec) -> tuple[str, str]:
    """(manifest JSON, its digest) of an image describing ``spec``'s build context."""
    tar_bytes, layer = context_layer(spec.context_dir)
    config = {
        "architecture": spec.architecture,
        "os": "linux",
        "config": {"Cmd": list(spec.command), "WorkingDir": LAMBDA_TASK_ROOT},
        "rootfs": {"type": "layers", "diff_ids": [sha256(tar_bytes)]},
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config_bytes), "size": len(config_bytes)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}],
        "annotations": {
            SOURCE_ANNOTATION: spec.context,
            TAG_ANNOTATION: spec.tag,
            EMULATED_ANNOTATION: "registered through ecr:PutImage; no base image, layers not uploaded",
        },
    }
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return text, sha256(text.encode())


def register(ecr: Any, spec: ImageSpec) -> str:
    manifest, digest = emulated_manifest(spec)
    resp = ecr.put_image(
        repositoryName=spec.repository,
        imageManifest=manifest,
        imageManifestMediaType=OCI_MANIFEST,
        imageTag=spec.tag,
        imageDigest=digest,
    )
    return resp["image"]["imageId"]["imageDigest"]


# -- the real push -----------------------------------------------------------------


def _run(cmd: list[str], *, log: Path, stdin: str | None = None) -> None:
    with log.open("ab") as fh:
        fh.write(("$ " + " ".join(cmd) + "\n").encode())
        fh.flush()
        proc = subprocess.run(
            cmd,
            input=stdin.encode() if stdin is not None else None,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=paths.ROOT,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-10:])
        raise StageFailed(f"{cmd[0]} {cmd[1]} failed (exit {proc.returncode}) [log: {log}]\n{tail}")


def docker_login(ecr: Any, *, log: Path) -> str:
    """Log Docker in to the account's registry with a 12-hour ECR token; return the registry."""
    data = ecr.get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    registry = data["proxyEndpoint"].removeprefix("https://")
    _run(["docker", "login", "--username", user, "--password-stdin", registry], log=log, stdin=password)
    return registry


def build_and_push(spec: ImageSpec, *, log: Path) -> None:
    _run(
        [
            "docker",
            "buildx",
            "build",
            "--platform",
            spec.platform,
            "--provenance=false",
            "--sbom=false",
            "--push",
            "--tag",
            spec.uri,
            str(spec.context_dir),
        ],
        log=log,
    )


# -- the step ----------------------------------------------------------------------


def publish(cloud: Cloud, metadata: Mapping[str, Any], stack: str, *, log_name: str) -> list[str]:
    """Make every image ``stack`` needs exist in ECR; return one line per image."""
    specs = images_of(metadata, stack)
    if not specs:
        return []
    if not cloud.is_emulator and shutil.which("docker") is None:
        raise TapError(f"{stack} ships container images: building them needs docker with buildx on PATH")
    log = paths.logs_dir() / f"{log_name}.images.log"
    lines: list[str] = []
    logged_in: set[str] = set()
    for spec in specs:
        ecr = _client(cloud, spec.region)
        digest = existing_digest(ecr, spec)
        if digest is not None:
            lines.append(f"{spec.repository}:{spec.tag} already present ({digest[:19]})")
            continue
        if cloud.is_emulator:
            digest = register(ecr, spec)
            how = "registered (emulated manifest)"
        else:
            if spec.region not in logged_in:
                docker_login(ecr, log=log)
                logged_in.add(spec.region)
            build_and_push(spec, log=log)
            digest = existing_digest(ecr, spec)
            if digest is None:
                raise StageFailed(f"pushed {spec.uri} but ECR does not list it [log: {log}]")
            how = f"built for {spec.platform} and pushed"
        lines.append(f"{spec.repository}:{spec.tag} {how} ({digest[:19]})")
    for line in lines:
        ui.info(f"images   {stack:<22} {line}")
    return lines
