"""The Python Lambda runtime, as the emulator's code executor runs it in a child process.

Run as a script (never imported by the CLI): ``python lambda_runtime.py``, with
the event on stdin and the invocation described by environment variables, as
in Lambda: ``_HANDLER``, ``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_FUNCTION_*``, and
``TAP_LAMBDA_PATH`` (the task root, then each layer's ``python`` folder, like
``/var/task`` and ``/opt/python``), ``TAP_LAMBDA_RESULT`` (a file for the
outcome), ``TAP_LAMBDA_DEADLINE`` (epoch seconds: the function's timeout).

Outcome file: ``{"ok": <payload>}`` or ``{"error": {errorMessage, errorType,
stackTrace}}`` — the error document Lambda returns for an unhandled exception.
Standard output and error are the function's log, formatted as the Lambda
Python runtime formats ``logging`` records.
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


class LambdaContext:
    """The attributes and method of Lambda's Python context object."""

    def __init__(self, env: dict[str, str]) -> None:
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = env.get("TAP_LAMBDA_FUNCTION_ARN", "")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = env.get("TAP_LAMBDA_REQUEST_ID", "")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = float(env.get("TAP_LAMBDA_DEADLINE", "0") or 0)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class _LambdaFormatter(logging.Formatter):
    """``[LEVEL]\\t<ISO time>Z\\t<request id>\\t<message>``, like the managed runtime."""

    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        text = f"[{record.levelname}]\t{stamp}.{int(record.msecs):03d}Z\t{self.request_id}\t{record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _error_document(exc: BaseException) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": os.environ.get("TAP_LAMBDA_REQUEST_ID", ""),
        "stackTrace": [line for line in traceback.format_list(frames)],
    }


def main() -> int:
    result_path = os.environ["TAP_LAMBDA_RESULT"]
    # sys.path[0] is this script's folder: the function sees only its task root,
    # its layers and the runtime's own packages (boto3), as in Lambda.
    sys.path[:1] = [p for p in os.environ.get("TAP_LAMBDA_PATH", "").split(os.pathsep) if p]
    request_id = os.environ.get("TAP_LAMBDA_REQUEST_ID", "")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_LambdaFormatter(request_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)

    def finish(outcome: dict[str, Any]) -> int:
        with open(result_path, "w", encoding="utf-8") as fh:
            json.dump(outcome, fh)
        return 0

    name = os.environ.get("_HANDLER", "")
    module_name, _, attr = name.rpartition(".")
    try:
        if not module_name or not attr:
            raise ValueError(f"Bad handler '{name}': not enough values to unpack (expected 2, got 1)")
        module = importlib.import_module(module_name.replace("/", "."))
        function = getattr(module, attr)
    except Exception as exc:  # Lambda reports an import failure as Runtime.ImportModuleError
        doc = _error_document(exc)
        doc["errorType"] = (
            "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        )
        doc["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
        print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", flush=True)
        return finish({"error": doc})
    raw = sys.stdin.buffer.read()
    try:
        event = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        return finish(
            {
                "error": {
                    "errorMessage": f"Could not parse request body into json: {exc}",
                    "errorType": "Runtime.UnmarshalError",
                    "stackTrace": [],
                }
            }
        )
    try:
        result = function(event, LambdaContext(dict(os.environ)))
        payload = json.loads(json.dumps(result))
    except Exception as exc:
        doc = _error_document(exc)
        print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", flush=True)
        traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
        return finish({"error": doc})
    sys.stdout.flush()
    return finish({"ok": payload})


if __name__ == "__main__":
    sys.exit(main())
