"""GET /query?device_id=...&start_date=YYYY-MM-DD&end_date=YYYY-MM-DD."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
import querying
from iot_common import BadRequest, env, response


@cache
def _records() -> querying.DynamoDailyRecords:
    return querying.DynamoDailyRecords(boto3.resource("dynamodb").Table(env("PROCESSED_TABLE_NAME")))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        result = querying.query(event.get("queryStringParameters"), records=_records())
    except BadRequest as exc:
        return response(400, {"message": str(exc)})
    return response(200, result)
