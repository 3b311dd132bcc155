"""Ingest one reading: store it raw, then queue it for processing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from iot_common import Reading, parse_reading


class RawStore(Protocol):
    def put(self, reading: Reading, *, ingested_at_ms: int) -> None: ...


class Queue(Protocol):
    def send(self, reading: Reading) -> str: ...


@dataclass(frozen=True)
class DynamoRawStore:
    table: Any  # boto3 Table

    def put(self, reading: Reading, *, ingested_at_ms: int) -> None:
        self.table.put_item(
            Item={
                "device_id": reading.device_id,
                "timestamp": reading.timestamp_ms,
                "sensor_data": reading.sensor_data,
                "ingested_at": ingested_at_ms,
            }
        )


@dataclass(frozen=True)
class SqsQueue:
    client: Any  # boto3 SQS client
    url: str

    def send(self, reading: Reading) -> str:
        body = json.dumps(reading.to_message(), separators=(",", ":"))
        return self.client.send_message(QueueUrl=self.url, MessageBody=body)["MessageId"]


def ingest(payload: Any, *, store: RawStore, queue: Queue, max_metrics: int, now: float) -> dict[str, Any]:
    """Validate, store, queue; return what the caller gets back."""
    reading = parse_reading(payload, max_metrics=max_metrics, now=now)
    store.put(reading, ingested_at_ms=round(now * 1000))
    message_id = queue.send(reading)
    return {
        "device_id": reading.device_id,
        "timestamp": reading.timestamp_ms / 1000,
        "event_date": reading.event_date,
        "message_id": message_id,
    }
