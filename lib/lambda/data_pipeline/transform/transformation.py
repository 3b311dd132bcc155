"""Trim and lower-case the source, round the value, keep unknown fields under ``attributes``."""

from __future__ import annotations

from typing import Any

from pipeline_common import REQUIRED_FIELDS, Location, next_key, read_records, write_records


def transform_record(record: dict[str, Any]) -> dict[str, Any]:
    extra = {k: v for k, v in record.items() if k not in REQUIRED_FIELDS}
    return {
        "record_id": record["record_id"].strip(),
        "source": record["source"].strip().lower(),
        "value": round(float(record["value"]), 4),
        "attributes": extra,
    }


def transform(event: dict[str, Any], s3: Any = None) -> dict[str, Any]:
    source = Location.from_event(event)
    records = [transform_record(r) for r in read_records(source, s3)]
    target = write_records(Location(source.bucket, next_key(source.key, "transformed")), records, s3)
    return target.as_event(count=len(records))
