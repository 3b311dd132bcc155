"""An execution starts either with records inline or with an object already in S3."""

from __future__ import annotations

from typing import Any

from pipeline_common import Location, PipelineError, env, write_records


def ingest(event: dict[str, Any], *, request_id: str, s3: Any = None) -> dict[str, Any]:
    bucket = env("RAW_BUCKET")
    if isinstance(event.get("key"), str):
        if event.get("bucket", bucket) != bucket:
            raise PipelineError(f"ingest reads only from the raw bucket {bucket}")
        return Location(bucket, event["key"]).as_event()
    records = event.get("records")
    if not isinstance(records, list):
        raise PipelineError("event needs 'records' (a list) or 'key' (an object in the raw bucket)")
    location = write_records(Location(bucket, f"raw/{request_id}.json"), records, s3)
    return location.as_event(count=len(records))
