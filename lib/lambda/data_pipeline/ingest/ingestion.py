"""An execution starts with records inline, with an object already in S3, or with no batch.

* ``{"records": [...]}``: the batch is stored under ``inline/`` (not ``raw/``:
  an object under ``raw/`` starts an execution of its own);
* ``{"key": "raw/..."}`` (what the S3 -> EventBridge rule sends): the object is the batch;
* neither: nothing to process (a smoke or scheduled trigger); ``count: 0`` ends
  the execution in the workflow's ``NoBatch`` state.
"""

from __future__ import annotations

from typing import Any

from pipeline_common import Location, PipelineError, env, write_records

INLINE_PREFIX = "inline/"


def ingest(event: dict[str, Any], *, request_id: str, s3: Any = None) -> dict[str, Any]:
    bucket = env("RAW_BUCKET")
    if "key" in event:
        if not isinstance(event["key"], str) or not event["key"]:
            raise PipelineError("'key' must name an object in the raw bucket")
        if event.get("bucket", bucket) != bucket:
            raise PipelineError(f"ingest reads only from the raw bucket {bucket}")
        return Location(bucket, event["key"]).as_event()
    if "records" not in event:
        return {"bucket": bucket, "count": 0}
    records = event["records"]
    if not isinstance(records, list):
        raise PipelineError("event needs 'records' (a list) or 'key' (an object in the raw bucket)")
    location = write_records(Location(bucket, f"{INLINE_PREFIX}{request_id}.json"), records, s3)
    return location.as_event(count=len(records))
