"""The transaction pipeline's workflow: the Amazon States Language definition of
validate -> transform -> notify, and the failure path (status FAILED, dead-letter
queue, SNS notice) every task falls into once its retries are spent.
"""

from __future__ import annotations

from typing import Any

from lib.config.settings.transaction_pipeline import WorkflowRetry

#: Errors worth retrying: Lambda's own transient failures, not a bad file.
TRANSIENT_LAMBDA_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def _task(
    function_arn: str,
    *,
    payload: dict[str, str],
    result: dict[str, str],
    result_path: str,
    retry: WorkflowRetry,
    next_state: str,
) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload": payload},
        "ResultSelector": result,
        "ResultPath": result_path,
        "Retry": [
            {
                "ErrorEquals": TRANSIENT_LAMBDA_ERRORS,
                "IntervalSeconds": retry.interval_seconds,
                "MaxAttempts": retry.max_attempts,
                "BackoffRate": retry.backoff_rate,
            }
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}],
        "Next": next_state,
    }


def workflow_definition(
    *,
    validator_arn: str,
    transformer_arn: str,
    notifier_arn: str,
    status_table: str,
    dlq_url: str,
    topic_arn: str,
    retry: WorkflowRetry,
) -> dict[str, Any]:
    """validate -> transform -> notify; any failure -> status FAILED, DLQ message, SNS notice, Fail."""
    service_retry = [
        {
            "ErrorEquals": ["States.TaskFailed"],
            "IntervalSeconds": retry.interval_seconds,
            "MaxAttempts": retry.max_attempts,
            "BackoffRate": retry.backoff_rate,
        }
    ]
    return {
        "Comment": "Transaction CSV processing: validate, transform, notify",
        "StartAt": "Describe",
        "States": {
            # The EventBridge "Object Created" event -> {bucket, key, upload_id}.
            "Describe": {
                "Type": "Pass",
                "Parameters": {
                    "bucket.$": "$.detail.bucket.name",
                    "key.$": "$.detail.object.key",
                    "upload_id.$": "States.ArrayGetItem(States.StringSplit($.detail.object.key, '/'), 1)",
                },
                "Next": "Validate",
            },
            "Validate": _task(
                validator_arn,
                payload={"bucket.$": "$.bucket", "key.$": "$.key"},
                result={"rows.$": "$.Payload.rows"},
                result_path="$.validation",
                retry=retry,
                next_state="Transform",
            ),
            "Transform": _task(
                transformer_arn,
                payload={"bucket.$": "$.bucket", "key.$": "$.key", "upload_id.$": "$.upload_id"},
                result={"written.$": "$.Payload.written", "totals.$": "$.Payload.totals"},
                result_path="$.transform",
                retry=retry,
                next_state="Notify",
            ),
            "Notify": _task(
                notifier_arn,
                payload={
                    "upload_id.$": "$.upload_id",
                    "key.$": "$.key",
                    "written.$": "$.transform.written",
                    "totals.$": "$.transform.totals",
                },
                result={"message_id.$": "$.Payload.message_id"},
                result_path="$.notification",
                retry=retry,
                next_state="Done",
            ),
            "Done": {"Type": "Succeed"},
            "RecordFailure": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": status_table,
                    "Key": {"upload_id": {"S.$": "$.upload_id"}},
                    "UpdateExpression": "SET #s = :s, #e = :e",
                    "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
                    "ExpressionAttributeValues": {":s": {"S": "FAILED"}, ":e": {"S.$": "$.error.Error"}},
                },
                "ResultPath": None,
                "Retry": service_retry,
                # Even if the status cannot be written, the failure still reaches the DLQ.
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "SendToDlq"}],
                "Next": "SendToDlq",
            },
            "SendToDlq": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": dlq_url, "MessageBody.$": "$"},
                "ResultPath": None,
                "Retry": service_retry,
                "Next": "NotifyFailure",
            },
            "NotifyFailure": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {
                    "TopicArn": topic_arn,
                    "Subject": "Transaction upload failed",
                    "Message.$": "States.JsonToString($)",
                },
                "ResultPath": None,
                "Retry": service_retry,
                "Next": "Failed",
            },
            "Failed": {
                "Type": "Fail",
                "Error": "TransactionProcessingFailed",
                "Cause": "A step failed; the execution input and error are on the dead-letter queue.",
            },
        },
    }
