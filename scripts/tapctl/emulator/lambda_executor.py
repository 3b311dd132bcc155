"""Lambda's invoke types in the emulator, and where asynchronous invocations end up.

:class:`Executor` is the :class:`~scripts.tapctl.emulator.lambda_run.Runner` that answers moto's
``LambdaFunction.invoke`` (:meth:`Executor.invoke_function`): ``RequestResponse`` returns the
payload (``FunctionError: Unhandled`` and Lambda's error document on an exception, HTTP 429 when
reserved concurrency is exhausted); ``Event`` returns 202 at once and runs in the background with
Lambda's retries (compressed to seconds), then the on-success / on-failure destination and the
dead-letter queue, reached by :func:`deliver` (SQS, SNS, Lambda); ``DryRun`` runs nothing. The
executor installed in this process is held by :data:`INSTALLED` and found with :func:`executor`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scripts.tapctl.emulator.lambda_code import ExecutorError
from scripts.tapctl.emulator.lambda_run import Result, Runner, Throttled

#: Seconds between the attempts of an asynchronous invocation (Lambda waits about
#: one and two minutes; the emulator keeps the count and the order, not the wait).
ASYNC_RETRY_DELAYS = (1.0, 2.0)
DEFAULT_ASYNC_RETRIES = 2


@dataclass
class Executor(Runner):
    """The emulator's Lambda service: Lambda's invoke types over the runner's one synchronous run."""

    #: hooks for the async path: where failed events go (tests replace them)
    sleep: Callable[[float], None] = time.sleep

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


@dataclass
class _Installed:
    """The executor :func:`scripts.tapctl.emulator.lambda_install.install` put into this process."""

    executor: Executor | None = None


INSTALLED = _Installed()


def executor() -> Executor:
    if INSTALLED.executor is None:
        raise ExecutorError("the Lambda executor is not installed in this process")
    return INSTALLED.executor


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
