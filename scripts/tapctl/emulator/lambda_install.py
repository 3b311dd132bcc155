"""The emulator's Lambda code executor: ``Invoke`` runs the deployed code, no Docker.

:func:`install` (``scripts/tap emulator start``, emulator process only) creates the process's
:class:`Executor` over a :class:`CodeCache` and replaces moto's ``LambdaFunction.invoke`` — which
every invoke path goes through: the ``Invoke`` API, Step Functions tasks, S3/SNS/EventBridge
triggers, SQS event source mappings, API Gateway — with :meth:`Executor.invoke_function`. The
parts live beside it: the code a function runs (zip, layers, image build context) in
:mod:`scripts.tapctl.emulator.lambda_code`, the execution role's keys in
:mod:`scripts.tapctl.emulator.roles`, one run in a child process (environment, timeout, reserved
concurrency, error document, logs to CloudWatch) in :mod:`scripts.tapctl.emulator.lambda_run`,
the invoke types, asynchronous retries, dead-letter queue and destinations in
:mod:`scripts.tapctl.emulator.lambda_executor`; their names are re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scripts.tapctl.emulator.lambda_code import Code, CodeCache, ExecutorError, prepare
from scripts.tapctl.emulator.lambda_executor import (
    ASYNC_RETRY_DELAYS,
    DEFAULT_ASYNC_RETRIES,
    INSTALLED,
    Executor,
    deliver,
    executor,
    throttled_error,
)
from scripts.tapctl.emulator.lambda_run import PASSTHROUGH_ENV, RUNTIME, Result, Runner, Throttled
from scripts.tapctl.emulator.roles import role_credentials

__all__ = [
    "ASYNC_RETRY_DELAYS",
    "DEFAULT_ASYNC_RETRIES",
    "PASSTHROUGH_ENV",
    "RUNTIME",
    "Code",
    "CodeCache",
    "Executor",
    "ExecutorError",
    "Result",
    "Runner",
    "Throttled",
    "deliver",
    "executor",
    "install",
    "prepare",
    "role_credentials",
    "throttled_error",
]


def install(endpoint: str, cache_dir: Path, repo_root: Path) -> Executor:
    """Replace moto's Docker-based invoke with this executor (emulator process only)."""
    from moto.awslambda.models import LambdaFunction

    cache_dir.mkdir(parents=True, exist_ok=True)
    installed = Executor(endpoint=endpoint, cache=CodeCache(cache_dir), repo_root=repo_root)
    INSTALLED.executor = installed

    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        return executor().invoke_function(self, body, request_headers or {}, response_headers)

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]
    return installed
