"""What starts the systems' code in the emulator, as AWS starts it: the triggers and executions, installed.

:func:`install` runs in the emulator process after the Lambda executor
(:mod:`scripts.tapctl.emulator.lambda_install`) and applies, in order: S3 → Lambda and SNS → Lambda
notifications delivered asynchronously (:mod:`scripts.tapctl.emulator.notifications`),
EventBridge rules delivering to Lambda and Step Functions targets with ``Input``, ``InputPath``
and ``InputTransformer`` honoured (:mod:`scripts.tapctl.emulator.eventbridge`), Step Functions
executions run by moto's interpreter as the state machine's role, with ``StartSyncExecution``
(:mod:`scripts.tapctl.emulator.stepfunctions`); then it starts the poller of SQS event source
mappings (:mod:`scripts.tapctl.emulator.sqs_poller`), held by :data:`INSTALLED`. The names those
modules define are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from scripts.tapctl.emulator.eventbridge import patch_eventbridge_targets, render_template, target_input
from scripts.tapctl.emulator.notifications import patch_s3_lambda_async, patch_sns_lambda
from scripts.tapctl.emulator.sqs_poller import POLL_INTERVAL, SqsPoller, sqs_event
from scripts.tapctl.emulator.stepfunctions import patch_stepfunctions_execution, start_execution

__all__ = [
    "INSTALLED",
    "POLL_INTERVAL",
    "SqsPoller",
    "install",
    "patch_eventbridge_targets",
    "patch_s3_lambda_async",
    "patch_sns_lambda",
    "patch_stepfunctions_execution",
    "render_template",
    "sqs_event",
    "start_execution",
    "target_input",
]


@dataclass
class _Installed:
    """The SQS poller :func:`install` started in this process."""

    poller: SqsPoller | None = None


INSTALLED = _Installed()


def install() -> list[str]:
    patches = [
        patch_s3_lambda_async,
        patch_sns_lambda,
        patch_eventbridge_targets,
        patch_stepfunctions_execution,
    ]
    for patch in patches:
        patch()
    INSTALLED.poller = SqsPoller().start()
    return [p.__name__ for p in patches] + ["sqs_poller"]
