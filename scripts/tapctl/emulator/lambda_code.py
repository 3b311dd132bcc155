"""Where a function's code is, ready for the Lambda executor to run: zips, layers and image build contexts.

:func:`prepare` turns a moto ``LambdaFunction`` into a :class:`Code` (task root, layer folders,
handler). A zip function runs the bytes moto keeps from ``CreateFunction`` /
``UpdateFunctionCode``, extracted once per content hash by :class:`CodeCache`; each layer
likewise, its ``python/`` folder on the path after the task root (``/var/task`` then
``/opt/python``). A container-image function runs the build context its image was registered from
(``org.opencontainers.image.source`` of the ECR manifest, see ``scripts/tapctl/stages/images.py``),
checked against the manifest's layer digest: a folder that changed since the image was pushed is
an :class:`ExecutorError`, never silently different code.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ExecutorError(RuntimeError):
    """The executor cannot run the function (its code cannot be found or prepared)."""


@dataclass(frozen=True)
class Code:
    """Where a function's code is, ready to run."""

    task_root: Path
    layers: tuple[Path, ...] = ()
    handler: str = ""


def _sha_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CodeCache:
    """Packages extracted once per content hash (Lambda's per-version sandbox)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def zip_root(self, kind: str, data: bytes) -> Path:
        target = self.root / kind / _sha_hex(data)[:32]
        with self._lock:
            if not target.is_dir():
                tmp = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=self.root))
                try:
                    with zipfile.ZipFile(io.BytesIO(data)) as archive:
                        archive.extractall(tmp)
                except zipfile.BadZipFile as exc:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise ExecutorError(f"the deployed {kind} package is not a zip file: {exc}") from exc
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp.rename(target)
        return target

    def tar_root(self, kind: str, digest: str, data: bytes) -> Path:
        import tarfile

        target = self.root / kind / digest.replace("sha256:", "")[:32]
        with self._lock:
            if not target.is_dir():
                tmp = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=self.root))
                with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                    archive.extractall(tmp, filter="data")
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp.rename(target)
        return target


def _layer_roots(fn: Any, cache: CodeCache) -> tuple[Path, ...]:
    from moto.awslambda.utils import get_backend

    backend = get_backend(fn.account_id, fn.region)
    roots = []
    for layer in fn.layers:
        version = backend._layers.get_layer_version_by_arn(layer["Arn"])
        if version is None or not getattr(version, "code_bytes", b""):
            raise ExecutorError(f"layer {layer['Arn']} of {fn.function_name} has no code in the emulator")
        roots.append(cache.zip_root("layers", version.code_bytes) / "python")
    return tuple(roots)


def _image_code(fn: Any, cache: CodeCache, repo_root: Path) -> Code:
    """The build context an emulated image was registered from, as the image's layer."""
    from moto.ecr.models import ecr_backends

    from scripts.tapctl.stages import images

    uri = fn.code.get("ImageUri", "")
    host, _, rest = uri.partition("/")
    account, region = host.split(".")[0], host.split(".")[3] if host.count(".") >= 3 else fn.region
    if "@" in rest:
        repo_name, digest = rest.split("@", 1)
        tag = None
    else:
        repo_name, _, tag = rest.rpartition(":")
        digest = None
    try:
        repository = ecr_backends[account][region].repositories[repo_name]
    except KeyError:
        raise ExecutorError(f"{fn.function_name}: image repository {repo_name} does not exist") from None
    image = next(
        (
            i
            for i in repository.images
            if (tag and tag in (i.image_tags or [i.image_tag])) or (digest and i.image_digest == digest)
        ),
        None,
    )
    if image is None:
        raise ExecutorError(f"{fn.function_name}: image {uri} is not in its repository")
    manifest = json.loads(image.image_manifest)
    source = (manifest.get("annotations") or {}).get(images.SOURCE_ANNOTATION)
    if not source:
        raise ExecutorError(
            f"{fn.function_name}: image {uri} was pushed without a build context annotation "
            f"({images.SOURCE_ANNOTATION}); the emulator runs only images registered by scripts/tap"
        )
    context = (repo_root / source).resolve()
    tar_bytes, layer = images.context_layer(context)
    expected = manifest["layers"][0]["digest"]
    if images.sha256(layer) != expected:
        raise ExecutorError(
            f"{fn.function_name}: {source} changed since image {uri} was registered "
            "(layer digest differs): deploy again to run the new code"
        )
    root = cache.tar_root("images", expected, tar_bytes) / images.LAMBDA_TASK_ROOT.strip("/")
    command = list(fn.image_config.cmd or []) or list(manifest.get("tap:cmd", []))
    handler = command[0] if command else ""
    if not handler:
        raise ExecutorError(f"{fn.function_name}: no handler (ImageConfig.Command) to run")
    return Code(task_root=root, handler=handler)


def prepare(fn: Any, cache: CodeCache, repo_root: Path) -> Code:
    if getattr(fn, "package_type", "Zip") == "Image":
        return _image_code(fn, cache, repo_root)
    data = getattr(fn, "code_bytes", b"")
    if not data:
        raise ExecutorError(f"{fn.function_name}: the emulator holds no code for this function")
    return Code(task_root=cache.zip_root("code", data), layers=_layer_roots(fn, cache), handler=fn.handler)
