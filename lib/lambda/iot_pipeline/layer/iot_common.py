"""Shared by the IoT pipeline's functions: the reading model, validation, HTTP replies.

Ships as the ``iot_common`` module of the pipeline's Lambda layer.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

DEVICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Readings older than this or in the future by more than a day are refused.
EARLIEST_TIMESTAMP = 946684800  # 2000-01-01T00:00:00Z
FUTURE_SLACK_SECONDS = 86400


class BadRequest(ValueError):
    """The caller sent something invalid; the message is safe to return."""


def env(name: str) -> str:
    """A required environment variable, with a clear error when it is missing."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


@dataclass(frozen=True)
class Reading:
    device_id: str
    #: Epoch milliseconds (UTC).
    timestamp_ms: int
    #: Metric name -> value; ``temperature`` is in degrees Celsius.
    sensor_data: dict[str, Decimal]

    @property
    def event_date(self) -> str:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC).strftime("%Y-%m-%d")

    def to_message(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "timestamp": self.timestamp_ms / 1000,
            "sensor_data": {k: float(v) for k, v in self.sensor_data.items()},
        }


def _number(name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"sensor_data.{name} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(f"sensor_data.{name} must be a finite number")
    return Decimal(str(value))


def parse_reading(payload: Any, *, max_metrics: int, now: float) -> Reading:
    """Validate one reading ``{"device_id", "sensor_data", "timestamp"?}``."""
    if not isinstance(payload, dict):
        raise BadRequest("a reading must be a JSON object")
    device_id = payload.get("device_id")
    if not isinstance(device_id, str) or not DEVICE_ID.match(device_id):
        raise BadRequest("device_id must be 1-128 characters of letters, digits and _.:-")
    data = payload.get("sensor_data")
    if not isinstance(data, dict) or not data:
        raise BadRequest("sensor_data must be a non-empty object of metric name -> number")
    if len(data) > max_metrics:
        raise BadRequest(f"sensor_data has {len(data)} metrics; at most {max_metrics} are allowed")
    metrics: dict[str, Decimal] = {}
    for name, value in data.items():
        if not METRIC_NAME.match(name):
            raise BadRequest(f"metric name {name!r} must be lowercase letters, digits and _")
        metrics[name] = _number(name, value)
    ts = payload.get("timestamp", now)
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise BadRequest("timestamp must be epoch seconds (a number)")
    if not EARLIEST_TIMESTAMP <= ts <= now + FUTURE_SLACK_SECONDS:
        raise BadRequest("timestamp is outside the accepted range (2000-01-01 to now + 1 day)")
    return Reading(device_id=device_id, timestamp_ms=round(ts * 1000), sensor_data=metrics)


def parse_json_body(event: dict[str, Any]) -> Any:
    """The JSON body of an API Gateway proxy event."""
    body = event.get("body")
    if body is None or body == "":
        raise BadRequest("request body is required")
    if event.get("isBase64Encoded"):
        raise BadRequest("request body must be JSON text, not base64")
    try:
        return json.loads(body)
    except (TypeError, ValueError):
        raise BadRequest("request body is not valid JSON") from None


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"))


def response(status: int, body: Any) -> dict[str, Any]:
    """An API Gateway proxy response."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": to_json(body),
    }
