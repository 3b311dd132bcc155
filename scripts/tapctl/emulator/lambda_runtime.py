"""The Python Lambda runtime, as the emulator's code executor runs it: one execution environment.

Run as a script (never imported by the CLI): ``python lambda_runtime.py``. Like a
Lambda execution environment, one process serves invocations one after another:
the handler module is imported once, in an init phase before the first invocation
(then ``INIT_MARK`` is written; init time does not count against the function's
timeout), and its module-level state survives between invocations. The environment variables
describe the function, as in Lambda: ``_HANDLER``, ``LAMBDA_TASK_ROOT``,
``AWS_LAMBDA_FUNCTION_*``, and ``TAP_LAMBDA_PATH`` (the task root, then each
layer's ``python`` folder, like ``/var/task`` and ``/opt/python``).

Protocol on stdin, per invocation: one JSON line ``{"request_id", "deadline",
"result", "length"}`` then ``length`` bytes of event. The outcome goes to the file
``result`` names: ``{"ok": <payload>}`` or ``{"error": {errorMessage, errorType,
stackTrace}}`` (Lambda's error document); then the line ``END_MARK <request_id>``
is written to stdout. Everything else on stdout/stderr is the function's log,
formatted as the Lambda Python runtime formats ``logging`` records. A handler
that cannot be imported ends the process after reporting (Lambda's init error).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

END_MARK = "\x1eTAP-END"
#: Written once the handler is loaded (or failed to load): the init phase is over.
INIT_MARK = "\x1eTAP-INIT"


class LambdaContext:
    """The attributes and method of Lambda's Python context object."""

    def __init__(self, env: dict[str, str], request_id: str, deadline: float) -> None:
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = env.get("TAP_LAMBDA_FUNCTION_ARN", "")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class _LambdaFormatter(logging.Formatter):
    """``[LEVEL]\\t<ISO time>Z\\t<request id>\\t<message>``, like the managed runtime."""

    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        when = f"{stamp}.{int(record.msecs):03d}Z"
        text = f"[{record.levelname}]\t{when}\t{self.request_id}\t{record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _error_document(exc: BaseException, request_id: str) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def _load_handler(name: str) -> Any:
    module_name, _, attr = name.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"Bad handler '{name}': not enough values to unpack (expected 2, got 1)")
    return getattr(importlib.import_module(module_name.replace("/", ".")), attr)


def _init_error(exc: Exception, name: str, request_id: str) -> dict[str, Any]:
    """Lambda's answer when the handler cannot be loaded (Runtime.ImportModuleError)."""
    doc = _error_document(exc, request_id)
    doc["errorType"] = (
        "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
    )
    doc["errorMessage"] = f"Unable to import module '{name.rpartition('.')[0]}': {exc}"
    print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", flush=True)
    return doc


def _invoke(function: Any, raw: bytes, request_id: str, deadline: float) -> dict[str, Any]:
    try:
        event = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        message = f"Could not parse request body into json: {exc}"
        return {"error": {"errorMessage": message, "errorType": "Runtime.UnmarshalError", "stackTrace": []}}
    try:
        result = function(event, LambdaContext(dict(os.environ), request_id, deadline))
        return {"ok": json.loads(json.dumps(result))}
    except Exception as exc:
        doc = _error_document(exc, request_id)
        print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", flush=True)
        traceback.print_exc(file=sys.stdout)
        return {"error": doc}


def main() -> int:
    # sys.path[0] is this script's folder: the function sees only its task root,
    # its layers and the runtime's own packages (boto3), as in Lambda.
    sys.path[:1] = [p for p in os.environ.get("TAP_LAMBDA_PATH", "").split(os.pathsep) if p]
    formatter = _LambdaFormatter("")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    name = os.environ.get("_HANDLER", "")
    # The init phase, as in Lambda: the handler module is imported before the first
    # invocation, and that time does not count against the function's timeout.
    function, init_error = None, None
    try:
        function = _load_handler(name)
    except Exception as exc:
        init_error = exc
    print(INIT_MARK, flush=True)
    while True:
        header = sys.stdin.buffer.readline()
        if not header:
            return 0
        request = json.loads(header)
        raw = sys.stdin.buffer.read(int(request["length"]))
        request_id, deadline = request["request_id"], float(request["deadline"])
        formatter.request_id = request_id
        alive = init_error is None
        if init_error is not None:
            outcome = {"error": _init_error(init_error, name, request_id)}
        else:
            outcome = _invoke(function, raw, request_id, deadline)
        with open(request["result"], "w", encoding="utf-8") as fh:
            json.dump(outcome, fh)
        sys.stderr.flush()
        print(f"{END_MARK} {request_id}", flush=True)
        if not alive:
            return 1


if __name__ == "__main__":
    sys.exit(main())
