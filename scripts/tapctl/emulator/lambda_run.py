"""One synchronous Lambda invocation in the emulator: an execution environment, its outcome and log.

:class:`Runner` runs a function once (:meth:`Runner.run`): the code :func:`prepare` found, in an
execution environment (a :mod:`scripts.tapctl.emulator.lambda_runtime` process, warm ones reused through
:class:`~scripts.tapctl.emulator.lambda_pool.Pool`) with the function's environment variables,
``AWS_REGION``, the emulator's endpoint and the credentials of its execution role.
Reserved concurrency bounds the runs in flight (:class:`Throttled` past it, ``0`` throttles every
call); a run past the function's timeout is killed (``Sandbox.Timedout``); code that cannot be
prepared or a runtime that exits without an outcome fails the invocation with Lambda's error
document. Every run's log (START/END/REPORT around what the handler printed or logged) goes to
``/aws/lambda/<name>``; the :class:`Result` is what Lambda reports.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.tapctl.emulator.lambda_code import Code, CodeCache, prepare
from scripts.tapctl.emulator.lambda_pool import ExecutionEnvironment, Exited, Pool, Timeout
from scripts.tapctl.emulator.roles import role_credentials

RUNTIME = Path(__file__).with_name("lambda_runtime.py")
#: Environment the runtime process inherits from the emulator (nothing else does).
PASSTHROUGH_ENV = ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "SYSTEMROOT")
#: Test tooling only: lets coverage measure the runtime when the emulator itself is measured.
COVERAGE_ENV = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START", "COVERAGE_FILE")


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


class Throttled(Exception):
    """Reserved concurrency is exhausted."""


@dataclass
class Runner:
    endpoint: str
    cache: CodeCache
    repo_root: Path
    python: str = sys.executable
    pool: Pool = field(default_factory=Pool)
    _running: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

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

    def environment(self, fn: Any, code: Code) -> dict[str, str]:
        """The runtime process's environment (the same for every invocation it serves)."""
        env = {k: os.environ[k] for k in (*PASSTHROUGH_ENV, *COVERAGE_ENV) if k in os.environ}
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
                "AWS_MAX_ATTEMPTS": "2",
                "LAMBDA_TASK_ROOT": str(code.task_root),
                "LAMBDA_RUNTIME_DIR": str(RUNTIME.parent),
                "TZ": ":UTC",
                "_HANDLER": code.handler,
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONUNBUFFERED": "1",
                "TAP_LAMBDA_PATH": os.pathsep.join(str(p) for p in (code.task_root, *code.layers)),
                "TAP_LAMBDA_FUNCTION_ARN": fn.function_arn,
            }
        )
        return env

    def _environment_for(self, fn: Any, code: Code) -> ExecutionEnvironment:
        env = self.environment(fn, code)
        key = hashlib.sha256(
            json.dumps([fn.function_arn, self.python, env], sort_keys=True).encode()
        ).hexdigest()
        warm = self.pool.take(key)
        if warm is not None:
            return warm
        stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{fn.version}]{uuid.uuid4().hex}"
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = stream
        argv = [self.python, str(RUNTIME)]
        return ExecutionEnvironment.spawn(key, stream, argv, env, code.task_root)

    def run(self, fn: Any, event: bytes) -> Result:
        """Run ``fn`` once with ``event`` (JSON bytes), synchronously."""
        request_id = str(uuid.uuid4())
        with self._slot(fn):
            started = time.monotonic()
            ids: dict[str, Any] = {"request_id": request_id, "started": started}
            try:
                code = prepare(fn, self.cache, self.repo_root)
                environment = self._environment_for(fn, code)
            except Exception as exc:  # code that cannot be prepared fails the invocation, as on AWS
                error = _error(str(exc), "Runtime.InvalidEntrypoint", request_id)
                stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{fn.version}]{uuid.uuid4().hex}"
                return self._finish(fn, stream=stream, **ids, log="", error=error)
            ids["stream"] = environment.stream
            with tempfile.TemporaryDirectory(prefix="invoke-", dir=self.cache.root) as tmp:
                result_file = Path(tmp) / "result.json"
                try:
                    if not environment.initialized:  # the init phase: not counted in the timeout
                        environment.initialize()
                    log = environment.invoke(request_id, event, time.time() + float(fn.timeout), result_file)
                except Timeout as timeout:
                    message = f"Task timed out after {float(fn.timeout):.2f} seconds"
                    log = timeout.log + f"{_stamp()} {request_id} {message}\n"
                    doc = {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"RequestId: {request_id} Error: {message}",
                    }
                    return self._finish(fn, **ids, log=log, error=doc)
                except Exited as exited:
                    reason = f"Runtime exited with error: exit status {exited.code}"
                    doc = _error(f"RequestId: {request_id} Error: {reason}", "Runtime.ExitError", request_id)
                    return self._finish(fn, **ids, log=exited.log, error=doc)
                outcome = json.loads(result_file.read_text())
            if str(outcome.get("error", {}).get("errorType", "")).startswith("Runtime."):
                environment.kill()  # the handler could not be loaded: the runtime is exiting
            else:
                self.pool.give(environment)
            if "error" in outcome:
                return self._finish(fn, **ids, log=log, error=outcome["error"])
            return self._finish(fn, **ids, log=log, error=None, payload=outcome["ok"])

    def _finish(
        self,
        fn: Any,
        *,
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
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {max(1, int(duration))} ms\tMemory Size: {fn.memory_size} MB",
        ]
        with contextlib.suppress(Exception):  # logging must never fail an invocation
            _write_logs(fn, stream, lines)
        text = "\n".join(lines) + "\n"
        if error is not None:
            return Result(json.dumps(error).encode(), "Unhandled", text, request_id, duration)
        return Result(json.dumps(payload).encode(), None, text, request_id, duration)


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
