"""Read a device's daily records for a date range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from iot_common import DEVICE_ID, BadRequest

DEFAULT_DAYS = 7
MAX_DAYS = 366


@dataclass(frozen=True)
class DateRange:
    device_id: str
    start: date
    end: date


def _date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be a date in YYYY-MM-DD form") from None


def parse_query(params: dict[str, str] | None, *, today: date) -> DateRange:
    params = params or {}
    device_id = params.get("device_id")
    if not device_id:
        raise BadRequest("query parameter device_id is required")
    if not DEVICE_ID.match(device_id):
        raise BadRequest("device_id must be 1-128 characters of letters, digits and _.:-")
    end = _date("end_date", params["end_date"]) if params.get("end_date") else today
    start = (
        _date("start_date", params["start_date"])
        if params.get("start_date")
        else end - timedelta(days=DEFAULT_DAYS - 1)
    )
    if start > end:
        raise BadRequest("start_date must not be after end_date")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRequest(f"the date range may span at most {MAX_DAYS} days")
    return DateRange(device_id, start, end)


class DailyRecords(Protocol):
    def between(self, device_id: str, start: str, end: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class DynamoDailyRecords:
    table: Any  # boto3 Table

    def between(self, device_id: str, start: str, end: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("device_id").eq(device_id) & Key("event_date").between(start, end)
        }
        while True:
            page = self.table.query(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def summarize(item: dict[str, Any]) -> dict[str, Any]:
    out = {
        "event_date": item["event_date"],
        "reading_count": item.get("reading_count", 0),
        "latest_timestamp": item.get("latest_timestamp"),
        "latest_metrics": item.get("latest_metrics", {}),
    }
    count = item.get("temperature_reading_count")
    if count:
        avg = Decimal(item["temperature_fahrenheit_sum"]) / Decimal(count)
        out["average_temperature_fahrenheit"] = avg.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return out


def query(
    params: dict[str, str] | None, *, records: DailyRecords, now: datetime | None = None
) -> dict[str, Any]:
    today = (now or datetime.now(tz=UTC)).date()
    rng = parse_query(params, today=today)
    items = records.between(rng.device_id, rng.start.isoformat(), rng.end.isoformat())
    return {
        "device_id": rng.device_id,
        "start_date": rng.start.isoformat(),
        "end_date": rng.end.isoformat(),
        "count": len(items),
        "items": [summarize(i) for i in items],
    }
