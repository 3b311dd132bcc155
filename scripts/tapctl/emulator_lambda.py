"""The emulator's Lambda code executor: ``Invoke`` runs the deployed code, no Docker.

Installed into the emulator process by :func:`install` (``scripts/tap emulator
start``). moto's ``LambdaFunction.invoke`` — which every invoke path goes
through: the ``Invoke`` API, Step Functions tasks, S3/SNS/EventBridge
triggers, SQS event source mappings, API Gateway — is replaced by
:meth:`Executor.invoke_function`:

* **Code**: a zip function runs the bytes moto keeps from ``CreateFunction`` /
  ``UpdateFunctionCode``, extracted once per ``CodeSha256`` under the cache;
  each layer likewise, its ``python/`` folder on the path after the task root
  (``/var/task`` then ``/opt/python``). A container-image function runs the
  build context its image was registered from (``org.opencontainers.image.source``
  of the ECR manifest, see ``scripts/tapctl/images.py``), checked against the
  manifest's layer digest: a folder that changed since the image was pushed is
  an error, never silently different code.
* **Process**: one child process per invocation (:mod:`scripts.tapctl.lambda_runtime`),
  with the function's environment variables, ``AWS_REGION``, the emulator's
  endpoint, and credentials of the function's execution role (STS
  ``AssumeRole`` inside the emulator, so every call lands in the function's
  account). Killed past the function's timeout: ``Sandbox.Timedout``.
* **Results**: ``RequestResponse`` returns the payload, ``FunctionError:
  Unhandled`` and Lambda's error document on an exception; ``Event`` returns
  202 at once and runs in the background with Lambda's retries (compressed to
  seconds), then the dead-letter queue / on-failure destination; ``DryRun``
  runs nothing. Reserved concurrency is enforced (``0`` throttles every call:
  ``TooManyRequestsException``). Every invocation's log (START/END/REPORT and
  what the handler printed or logged) goes to ``/aws/lambda/<name>``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUNTIME = Path(__file__).with_name("lambda_runtime.py")
#: Seconds between the attempts of an asynchronous invocation (Lambda waits about
#: one and two minutes; the emulator keeps the count and the order, not the wait).
ASYNC_RETRY_DELAYS = (1.0, 2.0)
DEFAULT_ASYNC_RETRIES = 2
#: Environment the runtime process inherits from the emulator (nothing else does).
PASSTHROUGH_ENV = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "SYSTEMROOT")


class ExecutorError(RuntimeError):
    """The executor cannot run the function (its code cannot be found or prepared)."""


@dataclass(frozen=True)
class Result:
    """What one invocation produced, as Lambda reports it."""

    payload: bytes
    function_error: str | None = None
    logs: str = ""
    request_id: str = ""
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.function_error is None

    def document(self) -> Any:
        return json.loads(self.payload) if self.payload else None


@dataclass(frozen=True)
class Code:
    """Where a function's code is, ready to run."""

    task_root: Path
    layers: tuple[Path, ...] = ()
    handler: str = ""


class Throttled(Exception):
    """Reserved concurrency is exhausted."""


# -- credentials of the execution role -----------------------------------------------


_ROLE_CREDS: dict[str, tuple[float, dict[str, str]]] = {}
_ROLE_LOCK = threading.Lock()


def role_credentials(role_arn: str, region: str) -> dict[str, str]:
    """Temporary keys of ``role_arn`` from the emulator's STS: they map to the role's account."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    with _ROLE_LOCK:
        cached = _ROLE_CREDS.get(role_arn)
        if cached and cached[0] > time.time() + 300:
            return cached[1]
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else "123456789012"
        role = sts_backends[account][get_partition(region)].assume_role(
            region_name=region,
            role_session_name="tap-emulator",
            role_arn=role_arn,
            policy="",
            duration=3600,
            external_id="",
        )
        creds = {
            "AWS_ACCESS_KEY_ID": role.access_key_id,
            "AWS_SECRET_ACCESS_KEY": role.secret_access_key,
            "AWS_SESSION_TOKEN": role.session_token,
        }
        _ROLE_CREDS[role_arn] = (time.time() + 3600, creds)
        return creds


# -- code preparation --------------------------------------------------------------------


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

    from scripts.tapctl import images

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
    if images._sha256(layer) != expected:
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


# -- the executor --------------------------------------------------------------------------


@dataclass
class Executor:
    endpoint: str
    cache: CodeCache
    repo_root: Path
    python: str = sys.executable
    _running: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: hooks for the async path: where failed events go (tests replace them)
    sleep: Callable[[float], None] = time.sleep

    # concurrency ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _slot(self, fn: Any):
        limit = fn.reserved_concurrency
        key = fn.function_arn
        with self._lock:
            if limit is not None and self._running.get(key, 0) >= int(limit):
                raise Throttled(fn.function_name)
            self._running[key] = self._running.get(key, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._running[key] -= 1

    # one run -----------------------------------------------------------------------------

    def environment(self, fn: Any, request_id: str, stream: str, code: Code, result: Path) -> dict[str, str]:
        env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
        env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
        env.update(role_credentials(fn.role, fn.region))
        runtime = fn.run_time or "python3.12"
        env.update(
            {
                "AWS_REGION": fn.region,
                "AWS_DEFAULT_REGION": fn.region,
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_MAX_ATTEMPTS": "2",
                "LAMBDA_TASK_ROOT": str(code.task_root),
                "LAMBDA_RUNTIME_DIR": str(RUNTIME.parent),
                "TZ": ":UTC",
                "_HANDLER": code.handler,
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONUNBUFFERED": "1",
                "TAP_LAMBDA_PATH": os.pathsep.join(str(p) for p in (code.task_root, *code.layers)),
                "TAP_LAMBDA_RESULT": str(result),
                "TAP_LAMBDA_REQUEST_ID": request_id,
                "TAP_LAMBDA_FUNCTION_ARN": fn.function_arn,
                "TAP_LAMBDA_DEADLINE": f"{time.time() + float(fn.timeout):.3f}",
            }
        )
        return env

    def run(self, fn: Any, event: bytes) -> Result:
        """Run ``fn`` once with ``event`` (JSON bytes), synchronously."""
        request_id = str(uuid.uuid4())
        stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{fn.version}]{uuid.uuid4().hex}"
        with self._slot(fn):
            started = time.monotonic()
            try:
                code = prepare(fn, self.cache, self.repo_root)
            except Exception as exc:  # code that cannot be prepared fails the invocation, as on AWS
                return self._finish(
                    fn,
                    stream,
                    request_id,
                    started,
                    "",
                    _error(str(exc), "Runtime.InvalidEntrypoint", request_id),
                )
            with tempfile.TemporaryDirectory(prefix="invoke-", dir=self.cache.root) as tmp:
                result_file = Path(tmp) / "result.json"
                env = self.environment(fn, request_id, stream, code, result_file)
                proc = subprocess.Popen(
                    [self.python, str(RUNTIME)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    cwd=code.task_root,
                    env=env,
                    start_new_session=True,
                )
                try:
                    output, _ = proc.communicate(event, timeout=float(fn.timeout))
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, 9)
                    output, _ = proc.communicate()
                    message = f"Task timed out after {float(fn.timeout):.2f} seconds"
                    log = output.decode("utf-8", "replace") + f"{_stamp()} {request_id} {message}\n"
                    doc = {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"RequestId: {request_id} Error: {message}",
                    }
                    return self._finish(fn, stream, request_id, started, log, doc)
                log = output.decode("utf-8", "replace")
                try:
                    outcome = json.loads(result_file.read_text())
                except (OSError, ValueError):
                    doc = _error(
                        f"RequestId: {request_id} Error: Runtime exited with error: exit status {proc.returncode}",
                        "Runtime.ExitError",
                        request_id,
                    )
                    return self._finish(fn, stream, request_id, started, log, doc)
            if "error" in outcome:
                return self._finish(fn, stream, request_id, started, log, outcome["error"])
            return self._finish(fn, stream, request_id, started, log, None, outcome["ok"])

    def _finish(
        self,
        fn: Any,
        stream: str,
        request_id: str,
        started: float,
        log: str,
        error: dict[str, Any] | None,
        payload: Any = None,
    ) -> Result:
        duration = (time.monotonic() - started) * 1000
        lines = [f"START RequestId: {request_id} Version: {fn.version}"]
        lines += log.rstrip("\n").splitlines() if log.strip() else []
        lines += [
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {max(1, int(duration))} ms\t"
            f"Memory Size: {fn.memory_size} MB",
        ]
        with contextlib.suppress(Exception):  # logging must never fail an invocation
            _write_logs(fn, stream, lines)
        text = "\n".join(lines) + "\n"
        if error is not None:
            return Result(json.dumps(error).encode(), "Unhandled", text, request_id, duration)
        return Result(json.dumps(payload).encode(), None, text, request_id, duration)

    # the invoke types ---------------------------------------------------------------------

    def invoke_function(
        self, fn: Any, body: Any, headers: Mapping[str, str], response_headers: dict[str, Any]
    ) -> bytes:
        """moto's ``LambdaFunction.invoke``: what the ``Invoke`` API answers."""
        event = _as_bytes(body)
        kind = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
        if kind == "DryRun":
            return b""
        if kind == "Event":
            if fn.reserved_concurrency is not None and int(fn.reserved_concurrency) == 0:
                # accepted, then never runs: Lambda keeps retrying throttled events for
                # MaximumEventAgeInSeconds, then discards or dead-letters them.
                threading.Thread(
                    target=self._dead_letter, args=(fn, event, _throttle_doc(fn)), daemon=True
                ).start()
                return b""
            self.invoke_async(fn, event)
            return b""
        try:
            result = self.run(fn, event)
        except Throttled:
            raise throttled_error() from None
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        response_headers["x-amz-log-result"] = base64.b64encode(result.logs.encode()[-4096:]).decode()
        response_headers["x-amz-executed-version"] = str(fn.version)
        return result.payload

    def invoke_async(self, fn: Any, event: bytes) -> threading.Thread:
        thread = threading.Thread(
            target=self._run_async, args=(fn, event), daemon=True, name=f"async-{fn.function_name}"
        )
        thread.start()
        return thread

    def _run_async(self, fn: Any, event: bytes) -> None:
        config = fn.event_invoke_config[0].config if fn.event_invoke_config else {}
        attempts = 1 + int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
        result: Result | None = None
        for attempt in range(attempts):
            if attempt:
                self.sleep(ASYNC_RETRY_DELAYS[min(attempt - 1, len(ASYNC_RETRY_DELAYS) - 1)])
            try:
                result = self.run(fn, event)
            except Throttled:
                result = Result(json.dumps(_throttle_doc(fn)).encode(), "Throttled")
                continue
            if result.ok:
                self._destination(fn, config, "OnSuccess", event, result)
                return
        assert result is not None
        self._destination(fn, config, "OnFailure", event, result)
        self._dead_letter(fn, event, result.document() or {}, result.request_id)

    def _dead_letter(self, fn: Any, event: bytes, error: Mapping[str, Any], request_id: str = "") -> None:
        dlc = getattr(fn, "_tap_dead_letter_config", None) or {}
        target = dlc.get("TargetArn")
        if not target:
            return
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": request_id or str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": str(error.get("errorMessage", ""))[:1000]},
        }
        deliver(target, event.decode("utf-8", "replace"), attributes)

    def _destination(
        self, fn: Any, config: Mapping[str, Any], which: str, event: bytes, result: Result
    ) -> None:
        target = ((config.get("DestinationConfig") or {}).get(which) or {}).get("Destination")
        if not target:
            return
        record = {
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {
                "requestId": result.request_id,
                "functionArn": f"{fn.function_arn}:$LATEST",
                "condition": "Success" if result.ok else "RetriesExhausted",
                "approximateInvokeCount": 1,
            },
            "requestPayload": json.loads(event or b"{}"),
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": result.function_error,
            },
            "responsePayload": result.document(),
        }
        deliver(target, json.dumps(record), {})


# -- delivery to SQS / SNS / Lambda / EventBridge targets -------------------------------------


def deliver(target_arn: str, body: str, attributes: Mapping[str, Any]) -> None:
    """Send ``body`` to an SQS queue, SNS topic, Lambda function or event bus by ARN."""
    parts = target_arn.split(":")
    service, region, account = parts[2], parts[3], parts[4]
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs_backends[account][region].send_message(
            queue_name=parts[5], message_body=body, message_attributes=dict(attributes)
        )
    elif service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(message=body, arn=target_arn)
    elif service == "lambda":
        from moto.awslambda.utils import get_backend

        fn = get_backend(account, region).get_function(target_arn)
        executor().invoke_async(fn, body.encode())
    else:
        raise ExecutorError(f"unsupported destination {target_arn}")


def _write_logs(fn: Any, stream: str, lines: list[str]) -> None:
    logs = fn.logs_backend
    logs.ensure_log_group(fn.logs_group_name)
    logs.create_log_stream(fn.logs_group_name, stream)
    now = int(time.time() * 1000)
    logs.put_log_events(fn.logs_group_name, stream, [{"timestamp": now, "message": line} for line in lines])


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _error(message: str, kind: str, request_id: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": kind, "requestId": request_id, "stackTrace": []}


def _throttle_doc(fn: Any) -> dict[str, str]:
    return {"errorType": "TooManyRequestsException", "errorMessage": f"Rate Exceeded. ({fn.function_name})"}


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in dict(headers).items() if k.lower() == lowered), None)
    return value


def _as_bytes(body: Any) -> bytes:
    if body is None or body == "":
        return b"{}"
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def throttled_error() -> Exception:
    """Lambda's answer when reserved concurrency is exhausted: HTTP 429."""
    from moto.core.exceptions import JsonRESTError

    class TooManyRequestsException(JsonRESTError):
        code = 429

        def __init__(self) -> None:
            super().__init__("TooManyRequestsException", "Rate Exceeded.")
            self.description = json.dumps(
                {
                    "__type": "TooManyRequestsException",
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                    "Type": "User",
                    "message": "Rate Exceeded.",
                }
            )

    return TooManyRequestsException()


# -- installation into moto ------------------------------------------------------------------------

_EXECUTOR: Executor | None = None


def executor() -> Executor:
    if _EXECUTOR is None:
        raise ExecutorError("the Lambda executor is not installed in this process")
    return _EXECUTOR


def install(endpoint: str, cache_dir: Path, repo_root: Path) -> Executor:
    """Replace moto's Docker-based invoke with this executor (emulator process only)."""
    global _EXECUTOR
    from moto.awslambda.models import LambdaFunction

    cache_dir.mkdir(parents=True, exist_ok=True)
    _EXECUTOR = Executor(endpoint=endpoint, cache=CodeCache(cache_dir), repo_root=repo_root)

    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        return executor().invoke_function(self, body, request_headers or {}, response_headers)

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]
    return _EXECUTOR
