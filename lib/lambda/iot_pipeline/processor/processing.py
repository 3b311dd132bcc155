"""Turn raw readings into per-device, per-day records in the processed table.

Temperatures arrive in Celsius and are stored in Fahrenheit; every other
metric is kept as sent. Each reading updates its day's record atomically:
a count, a running Fahrenheit sum (for the average) and the latest values.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from iot_common import BadRequest, Reading, parse_reading

logger = logging.getLogger(__name__)
TWO_PLACES = Decimal("0.01")


def celsius_to_fahrenheit(celsius: Decimal) -> Decimal:
    return (celsius * 9 / 5 + 32).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Processed:
    device_id: str
    event_date: str
    timestamp_ms: int
    metrics: dict[str, Decimal]

    @property
    def temperature_fahrenheit(self) -> Decimal | None:
        return self.metrics.get("temperature_fahrenheit")


def transform(reading: Reading) -> Processed:
    metrics = {k: v for k, v in reading.sensor_data.items() if k != "temperature"}
    if "temperature" in reading.sensor_data:
        metrics["temperature_fahrenheit"] = celsius_to_fahrenheit(reading.sensor_data["temperature"])
    return Processed(reading.device_id, reading.event_date, reading.timestamp_ms, metrics)


class DailyStore(Protocol):
    def add(self, processed: Processed, *, now_ms: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class DynamoDailyStore:
    table: Any  # boto3 Table

    def add(self, processed: Processed, *, now_ms: int) -> dict[str, Any]:
        names = {"#count": "reading_count"}
        values: dict[str, Any] = {
            ":one": 1,
            ":ts": processed.timestamp_ms,
            ":metrics": processed.metrics,
            ":now": now_ms,
        }
        add = "#count :one"
        if processed.temperature_fahrenheit is not None:
            values[":tf"] = processed.temperature_fahrenheit
            add += ", temperature_fahrenheit_sum :tf, temperature_reading_count :one"
        result = self.table.update_item(
            Key={"device_id": processed.device_id, "event_date": processed.event_date},
            UpdateExpression=(
                f"SET latest_timestamp = :ts, latest_metrics = :metrics, updated_at = :now ADD {add}"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return result["Attributes"]


def process_reading(reading: Reading, *, store: DailyStore, now_ms: int) -> dict[str, Any]:
    processed = transform(reading)
    record = store.add(processed, now_ms=now_ms)
    return {
        "device_id": processed.device_id,
        "event_date": processed.event_date,
        "metrics": processed.metrics,
        "reading_count": record.get("reading_count"),
    }


def process_batch(
    records: list[dict[str, Any]], *, store: DailyStore, max_metrics: int, now: float
) -> dict[str, list[dict[str, str]]]:
    """Process SQS records; report the ones that failed so only they are retried.

    A malformed message fails every time it is received, so after
    ``maxReceiveCount`` receives SQS moves it to the dead-letter queue.
    """
    failures = []
    for record in records:
        message_id = record.get("messageId", "")
        try:
            payload = json.loads(record["body"])
            reading = parse_reading(payload, max_metrics=max_metrics, now=now)
            process_reading(reading, store=store, now_ms=round(now * 1000))
        except (BadRequest, KeyError, TypeError, ValueError) as exc:
            logger.warning("message %s is invalid: %s", message_id, exc)
            failures.append({"itemIdentifier": message_id})
        except Exception:  # a store error: retry this record only
            logger.exception("message %s could not be stored", message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
