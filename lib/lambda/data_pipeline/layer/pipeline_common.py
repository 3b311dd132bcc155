"""Shared code of the data pipeline's functions (shipped as the layer).

A batch travels between the steps as a JSON object in the raw bucket: each
step reads ``{"bucket", "key"}``, writes its result under its own prefix and
returns the new location, so Step Functions payloads stay small.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3

REQUIRED_FIELDS = ("record_id", "source", "value")


class PipelineError(Exception):
    """A batch the pipeline cannot process (Step Functions catches it by name)."""


@dataclass(frozen=True)
class Location:
    bucket: str
    key: str

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Location:
        bucket, key = event.get("bucket"), event.get("key")
        if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
            raise PipelineError("event needs 'bucket' and 'key' strings")
        return cls(bucket, key)

    def as_event(self, **extra: Any) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, **extra}


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise PipelineError(f"environment variable {name} is not set")
    return value


def s3_client() -> Any:
    return boto3.client("s3")


def read_records(location: Location, s3: Any = None) -> list[dict[str, Any]]:
    body = (s3 or s3_client()).get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise PipelineError(f"s3://{location.bucket}/{location.key} is not JSON: {exc.msg}") from exc
    records = data.get("records") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise PipelineError(f"s3://{location.bucket}/{location.key} holds no 'records' list")
    return records


def write_records(location: Location, records: list[dict[str, Any]], s3: Any = None) -> Location:
    body = json.dumps({"records": records}, sort_keys=True, default=str).encode()
    (s3 or s3_client()).put_object(
        Bucket=location.bucket, Key=location.key, Body=body, ContentType="application/json"
    )
    return location


def next_key(key: str, stage: str) -> str:
    """``raw/batch.json`` -> ``<stage>/batch.json``."""
    name = key.split("/", 1)[1] if "/" in key else key
    return f"{stage}/{name}"


def to_dynamodb(value: Any) -> Any:
    """JSON numbers as ``Decimal`` (the DynamoDB resource API refuses floats)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: to_dynamodb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_dynamodb(v) for v in value]
    return value
