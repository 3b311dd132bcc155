"""The data pipeline's workflow: the Amazon States Language definition chaining
ingest -> validate -> transform -> load, each step retried with exponential
backoff, and the failure path (SNS notice, dead-letter queue, Fail).
"""

from __future__ import annotations

import json
from typing import Any

#: The workflow's steps, in order.
STEPS = ("ingest", "validate", "transform", "load")
#: Transient errors worth retrying (a PipelineError is a bad batch: retrying it cannot help).
RETRYABLE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "States.Timeout",
)


def workflow_definition(
    *,
    function_arns: dict[str, str],
    topic_arn: str,
    dlq_url: str,
    max_attempts: int,
    interval_seconds: int,
    backoff_rate: float,
) -> str:
    """Amazon States Language: each step retried with exponential backoff, every
    failure caught into Notify (SNS) -> DeadLetter (SQS) -> Failed; an input
    without a batch (Ingest reports ``count: 0``) ends in NoBatch."""
    missing = [s for s in STEPS if s not in function_arns]
    if missing:
        raise ValueError(f"workflow needs a function for step(s) {', '.join(missing)}")
    states: dict[str, Any] = {}
    for i, step in enumerate(STEPS):
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": function_arns[step],
            "Retry": [
                {
                    "ErrorEquals": list(RETRYABLE_ERRORS),
                    "IntervalSeconds": interval_seconds,
                    "MaxAttempts": max_attempts,
                    "BackoffRate": backoff_rate,
                }
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Notify"}],
        }
        if step == "ingest":
            state["Next"] = "HasBatch"
        elif i + 1 < len(STEPS):
            state["Next"] = STEPS[i + 1].capitalize()
        else:
            state["End"] = True
        states[step.capitalize()] = state
    states["HasBatch"] = {
        "Type": "Choice",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.count", "IsPresent": True},
                    {"Variable": "$.count", "NumericEquals": 0},
                ],
                "Next": "NoBatch",
            }
        ],
        "Default": STEPS[1].capitalize(),
    }
    states["NoBatch"] = {"Type": "Succeed", "Comment": "the input carried no records and no key"}
    states["Notify"] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {
            "TopicArn": topic_arn,
            "Subject": "Data pipeline execution failed",
            "Message.$": "States.JsonToString($)",
        },
        "ResultPath": None,
        "Next": "DeadLetter",
    }
    states["DeadLetter"] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": dlq_url, "MessageBody.$": "States.JsonToString($)"},
        "ResultPath": None,
        "Next": "Failed",
    }
    states["Failed"] = {"Type": "Fail", "Error": "PipelineFailed", "Cause": "a step failed after its retries"}
    return json.dumps(
        {"Comment": "ingest -> validate -> transform -> load", "StartAt": "Ingest", "States": states},
        separators=(",", ":"),
    )
