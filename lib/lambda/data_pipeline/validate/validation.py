"""A record needs a non-empty ``record_id`` and ``source`` and a numeric ``value``."""

from __future__ import annotations

from typing import Any

from pipeline_common import REQUIRED_FIELDS, Location, PipelineError, next_key, read_records, write_records


def problems(record: Any) -> list[str]:
    if not isinstance(record, dict):
        return ["not an object"]
    found = [f"missing {f}" for f in REQUIRED_FIELDS if f not in record]
    for field in ("record_id", "source"):
        if field in record and (not isinstance(record[field], str) or not record[field].strip()):
            found.append(f"{field} must be a non-empty string")
    value = record.get("value")
    if "value" in record and (isinstance(value, bool) or not isinstance(value, int | float)):
        found.append("value must be a number")
    return found


def validate(event: dict[str, Any], s3: Any = None) -> dict[str, Any]:
    source = Location.from_event(event)
    records = read_records(source, s3)
    valid = [r for r in records if not problems(r)]
    if not valid:
        raise PipelineError(f"no valid record among {len(records)} in s3://{source.bucket}/{source.key}")
    target = write_records(Location(source.bucket, next_key(source.key, "validated")), valid, s3)
    return target.as_event(valid=len(valid), invalid=len(records) - len(valid))
