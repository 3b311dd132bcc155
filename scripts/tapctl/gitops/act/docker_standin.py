"""The runner image's ``docker``, for act runs (``tools/act/runner-bin/docker``).

On GitHub, ``scripts/tap apply`` publishes a stack's container images the real-AWS
way (:mod:`scripts.tapctl.stages.images`): an ECR token from
``ecr:GetAuthorizationToken``, ``docker login``, ``docker buildx build --push``, then
``ecr:DescribeImages`` to check the tag arrived. Under ``scripts/tap simulate`` that
same code runs against the embedded AWS, and this stand-in answers the two docker
commands: ``login`` records the registry (as ``~/.docker/config.json`` would), and
``buildx build --push`` refuses a registry it is not logged in to, reads the build
context's Dockerfile and registers the image with ``ecr:PutImage`` (the manifest the
emulator path writes: no base image, no layers uploaded). Any other command fails
loudly: nothing else is emulated.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
from pathlib import Path

import boto3

from lib.constructs.container_image import dockerfile_command
from lib.constructs.packaging import PackagingError
from scripts.tapctl.core import paths
from scripts.tapctl.stages import images

#: ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>``
IMAGE_URI = re.compile(
    r"(?P<registry>(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com)/(?P<repo>[^:@]+):(?P<tag>[\w.-]+)"
)


class DockerError(Exception):
    """What docker would print on stderr before exiting 1."""


def _config() -> Path:
    """Where logins are kept: $DOCKER_CONFIG, else the simulation's work folder (never ~/.docker)."""
    folder = os.environ.get("DOCKER_CONFIG") or str(Path(os.environ["TAP_ACT_WORKDIR"]) / "docker-standin")
    return Path(folder) / "config.json"


def _auths() -> dict[str, dict[str, str]]:
    path = _config()
    return json.loads(path.read_text())["auths"] if path.is_file() else {}


def login(argv: list[str], stdin: str) -> str:
    p = argparse.ArgumentParser(prog="docker login", add_help=False)
    p.add_argument("--username", "-u", required=True)
    p.add_argument("--password-stdin", action="store_true", required=True)
    p.add_argument("registry")
    a = p.parse_args(argv)
    password = stdin.strip()
    if not password:
        raise DockerError("Error: Cannot perform an interactive login from a non TTY device")
    registry = a.registry.removeprefix("https://")
    auths = _auths()
    auths[registry] = {"auth": base64.b64encode(f"{a.username}:{password}".encode()).decode()}
    path = _config()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": auths}, indent=2))
    return "Login Succeeded"


def buildx_build(argv: list[str]) -> str:
    p = argparse.ArgumentParser(prog="docker buildx build", add_help=False)
    p.add_argument("--platform", required=True)
    p.add_argument("--provenance", default="true")
    p.add_argument("--sbom", default="true")
    p.add_argument("--push", action="store_true")
    p.add_argument("--tag", "-t", required=True)
    p.add_argument("context", type=Path)
    a = p.parse_args(argv)
    if not a.push:
        raise DockerError("the docker stand-in only builds to push (--push): there is no local image store")
    if a.provenance != "false" or a.sbom != "false":
        raise DockerError("attestations would make the push an image index, which Lambda refuses")
    match = IMAGE_URI.fullmatch(a.tag)
    if match is None:
        raise DockerError(
            f"--tag {a.tag}: not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/...)"
        )
    if match["registry"] not in _auths():
        raise DockerError(f"ERROR: failed to push {a.tag}: no basic auth credentials (docker login first)")
    context = a.context.resolve()
    try:
        command = dockerfile_command(context)
    except (OSError, PackagingError) as exc:
        raise DockerError(f"ERROR: failed to solve: {exc}") from None
    spec = images.ImageSpec(
        repository=match["repo"],
        account_id=match["account"],
        region=match["region"],
        context=str(context.relative_to(paths.ROOT)) if context.is_relative_to(paths.ROOT) else str(context),
        tag=match["tag"],
        platform=a.platform,
        command=tuple(command),
        uri=a.tag,
    )
    digest = images.register(boto3.client("ecr", region_name=spec.region), spec)
    return f"pushed {a.tag}@{digest} (registered with ecr:PutImage by the stand-in)"


def main(argv: list[str], stdin: str = "") -> int:
    try:
        if argv[:1] == ["login"]:
            print(login(argv[1:], stdin))
        elif argv[:2] == ["buildx", "build"]:
            print(buildx_build(argv[2:]))
        else:
            raise DockerError(
                f"docker {' '.join(argv[:2])}: the stand-in runs only `login` and `buildx build`"
            )
    except DockerError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "" if sys.stdin.isatty() else sys.stdin.read()))
