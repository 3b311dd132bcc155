"""Batch-write the records (idempotent: ``record_id`` is the key)."""

from __future__ import annotations

from typing import Any

import boto3
from pipeline_common import Location, env, read_records, to_dynamodb


def load(event: dict[str, Any], s3: Any = None, table: Any = None) -> dict[str, Any]:
    source = Location.from_event(event)
    records = read_records(source, s3)
    table = table or boto3.resource("dynamodb").Table(env("TABLE_NAME"))
    with table.batch_writer(overwrite_by_pkeys=["record_id"]) as batch:
        for record in records:
            batch.put_item(Item=to_dynamodb({**record, "batch": source.key}))
    return {"table": table.name, "loaded": len(records)}
