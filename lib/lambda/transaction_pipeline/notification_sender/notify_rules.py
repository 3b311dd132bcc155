"""Completion notices: a summary message on the SNS topic and the final status."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Config:
    topic_arn: str
    status_table: str

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(topic_arn=env["NOTIFICATION_TOPIC_ARN"], status_table=env["STATUS_TABLE"])


def summary(event: dict[str, Any]) -> tuple[str, str]:
    """(subject, message) for a finished upload."""
    missing = [k for k in ("upload_id", "written") if k not in event]
    if missing:
        raise ValueError(f"notification event lacks {', '.join(missing)}")
    subject = f"Transactions processed: {event['written']} row(s)"
    message = {
        "upload_id": event["upload_id"],
        "key": event.get("key"),
        "written": event["written"],
        "totals": event.get("totals", {}),
        "status": "COMPLETED",
    }
    return subject[:100], json.dumps(message, sort_keys=True)


class Notifier:
    def __init__(self, config: Config, *, sns: Any, dynamodb: Any) -> None:
        self.config = config
        self.sns = sns
        self.status = dynamodb.Table(config.status_table)

    def run(self, event: dict[str, Any]) -> dict[str, Any]:
        subject, message = summary(event)
        message_id = self.sns.publish(
            TopicArn=self.config.topic_arn,
            Subject=subject,
            Message=message,
            MessageAttributes={"status": {"DataType": "String", "StringValue": "COMPLETED"}},
        )["MessageId"]
        self.status.update_item(
            Key={"upload_id": event["upload_id"]},
            UpdateExpression="SET #s = :s, #t = :t, message_id = :m",
            ExpressionAttributeNames={"#s": "status", "#t": "timestamp"},
            ExpressionAttributeValues={
                ":s": "COMPLETED",
                ":t": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                ":m": message_id,
            },
        )
        return {"upload_id": event["upload_id"], "status": "COMPLETED", "message_id": message_id}
