"""Run a deployed Lambda function from an integration test, on AWS or on the emulator.

``invoke(function, event)`` returns an :class:`Invocation` either way:

* **Real AWS** (``TAP_CLOUD`` is not ``emulator``): ``lambda:Invoke``, with the
  log tail.
* **Embedded AWS** (``TAP_CLOUD=emulator``, set by ``scripts/tap``): moto runs
  functions in Docker and there is no Docker engine, so the helper runs the
  function *here*, from what is deployed:

  1. ``GetFunction`` gives the deployed configuration: handler, environment
     variables, layers and ``CodeSha256`` (moto's ``Code.Location`` is not a
     downloadable URL);
  2. the package with exactly that SHA-256 is found among the synthesized
     assets (``$CDKTF_OUTDIR/stacks/*/assets``) and the build cache; each
     layer likewise through ``GetLayerVersionByArn``. A package that matches
     nothing is an error (synthesize the commit that was deployed), never a
     silent fallback to the working tree;
  3. the function and layer zips are extracted to a temporary task root, the
     layers' ``python/`` directories and the task root go on ``sys.path``
     (as ``/opt/python`` and ``/var/task`` in Lambda), the deployed
     environment variables (plus ``AWS_REGION`` of the function) are set,
     the handler is imported fresh and called with the event and a context;
  4. the result is JSON round-tripped like Lambda's; an exception becomes
     ``function_error="Unhandled"`` with Lambda's error payload.

  The handler's own AWS calls reach the emulator through the test process's
  ``AWS_ENDPOINT_URL`` and credentials. Container-image functions are run
  from the directory their image was built from (``image_source=``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import io
import json
import logging
import os
import sys
import tempfile
import traceback
import urllib.parse
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[2]


class InvokeError(RuntimeError):
    """The helper cannot run the function (not an error *of* the function)."""


@dataclass(frozen=True)
class Invocation:
    """What ``lambda:Invoke`` returns, on either cloud."""

    payload: Any
    #: ``None`` on success, else Lambda's ``FunctionError`` (``"Unhandled"``).
    function_error: str | None = None
    logs: str = ""
    executed_in: str = "aws"

    @property
    def ok(self) -> bool:
        return self.function_error is None

    def body(self) -> Any:
        """The parsed ``body`` of an API Gateway proxy response payload."""
        return json.loads(self.payload["body"])


def on_emulator() -> bool:
    """The embedded AWS: ``TAP_CLOUD=emulator`` (scripts/tap), or a loopback endpoint (a
    workflow job run by ``scripts/tap simulate``, which says ``TAP_CLOUD=aws`` like on
    GitHub and gets the emulator's endpoint from the credentials stand-in)."""
    if os.environ.get("TAP_CLOUD") == "emulator":
        return True
    host = urllib.parse.urlsplit(os.environ.get("AWS_ENDPOINT_URL", "")).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def _region_of(function: str, region: str | None) -> str:
    if function.startswith("arn:"):
        return function.split(":")[3]
    return region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def invoke(
    function: str,
    event: Any,
    *,
    region: str | None = None,
    image_source: Path | None = None,
) -> Invocation:
    """Invoke ``function`` (name or ARN) synchronously with ``event``."""
    region = _region_of(function, region)
    client = boto3.client("lambda", region_name=region)
    if not on_emulator():
        resp = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=json.dumps(event).encode(),
        )
        raw = resp["Payload"].read()
        return Invocation(
            payload=json.loads(raw) if raw else None,
            function_error=resp.get("FunctionError"),
            logs=base64.b64decode(resp.get("LogResult", "")).decode("utf-8", "replace"),
            executed_in="aws",
        )
    return _run_deployed(client, function, event, region=region, image_source=image_source)


# -- emulator: find the deployed packages ---------------------------------------


def _search_dirs() -> list[Path]:
    outdir = Path(os.environ.get("CDKTF_OUTDIR", ROOT / "cdktf.out"))
    dirs = [outdir / "stacks"]
    if os.environ.get("TAP_BUILD_DIR"):
        dirs.append(Path(os.environ["TAP_BUILD_DIR"]))
    dirs.append(Path(os.environ.get("TAP_WORKDIR", ROOT / ".tap")) / "build")
    return [d for d in dirs if d.is_dir()]


@cache
def _sha256_b64(path: Path, size: int, mtime: float) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode("ascii")


def find_package(code_sha256: str, what: str) -> Path:
    """The local zip whose SHA-256 equals the deployed ``CodeSha256``."""
    searched = _search_dirs()
    for directory in searched:
        for path in sorted(directory.rglob("*.zip")):
            st = path.stat()
            if _sha256_b64(path, st.st_size, st.st_mtime) == code_sha256:
                return path
    raise InvokeError(
        f"no local package matches the deployed {what} (CodeSha256 {code_sha256}); searched "
        f"{', '.join(map(str, searched)) or '(nothing: set CDKTF_OUTDIR)'}. "
        "Synthesize the same commit that was deployed."
    )


@cache
def _extracted(package: Path, sha: str) -> Path:
    target = Path(tempfile.mkdtemp(prefix="lambda-pkg-"))
    with zipfile.ZipFile(package) as archive:
        archive.extractall(target)
    return target


def _top_level_names(roots: list[Path]) -> set[str]:
    names: set[str] = set()
    for root in roots:
        for entry in root.iterdir() if root.is_dir() else []:
            if entry.suffix == ".py":
                names.add(entry.stem)
            elif entry.is_dir() and (entry / "__init__.py").exists():
                names.add(entry.name)
    return names


@contextlib.contextmanager
def _sandbox(roots: list[Path], env: Mapping[str, str]) -> Iterator[io.StringIO]:
    names = _top_level_names(roots)
    saved_modules = {n: sys.modules.pop(n) for n in list(sys.modules) if n.split(".")[0] in names}
    saved_path = list(sys.path)
    saved_env = dict(os.environ)
    root_logger = logging.getLogger()
    saved_level = root_logger.level
    logs = io.StringIO()
    log_handler = logging.StreamHandler(logs)
    root_logger.addHandler(log_handler)
    sys.path[:0] = [str(r) for r in roots]
    os.environ.update(env)
    try:
        yield logs
    finally:
        root_logger.removeHandler(log_handler)
        root_logger.setLevel(saved_level)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if n.split(".")[0] in names]:
            del sys.modules[name]
        sys.modules.update(saved_modules)


@dataclass
class _Context:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


def _run_deployed(
    client: Any, function: str, event: Any, *, region: str, image_source: Path | None
) -> Invocation:
    config = client.get_function(FunctionName=function)["Configuration"]
    name = config["FunctionName"]
    if config.get("PackageType") == "Image":
        if image_source is None:
            raise InvokeError(
                f"{name} is a container-image function: pass image_source="
                "<the directory its image is built from>"
            )
        command = (config.get("ImageConfigResponse", {}).get("ImageConfig", {}) or {}).get("Command") or []
        handler = command[0] if command else "handler.handler"
        roots = [image_source]
    else:
        handler = config["Handler"]
        task = _extracted(find_package(config["CodeSha256"], f"code of {name}"), config["CodeSha256"])
        roots = [task]
        for layer in config.get("Layers", []):
            # arn:aws:lambda:<region>:<account>:layer:<name>:<version>; moto 5.2.5 has
            # no GetLayerVersionByArn, GetLayerVersion answers on both.
            layer_name, layer_version = layer["Arn"].rsplit(":", 2)[-2:]
            version = client.get_layer_version(LayerName=layer_name, VersionNumber=int(layer_version))
            sha = version["Content"]["CodeSha256"]
            layer_root = _extracted(find_package(sha, f"layer {layer['Arn']}"), sha)
            roots.append(layer_root / "python")
    env = dict(config.get("Environment", {}).get("Variables", {}))
    env.update(
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_LAMBDA_FUNCTION_NAME=name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(config.get("MemorySize", 128)),
        _HANDLER=handler,
    )
    context = _Context(
        function_name=name,
        invoked_function_arn=config["FunctionArn"],
        memory_limit_in_mb=config.get("MemorySize", 128),
        timeout_seconds=config.get("Timeout", 3),
        log_group_name=f"/aws/lambda/{name}",
    )
    module_name, _, attr = handler.rpartition(".")
    with _sandbox(roots, env) as logs:
        try:
            fn = getattr(importlib.import_module(module_name), attr)
            result = fn(event, context)
            payload = json.loads(json.dumps(result))
        except Exception as exc:  # the function failed: report it the way Lambda does
            return Invocation(
                payload={
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "stackTrace": traceback.format_exception(exc),
                },
                function_error="Unhandled",
                logs=logs.getvalue(),
                executed_in="emulator (in-process)",
            )
        return Invocation(payload=payload, logs=logs.getvalue(), executed_in="emulator (in-process)")
