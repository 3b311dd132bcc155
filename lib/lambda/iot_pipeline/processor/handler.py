"""The processor: SQS batches from the ingestion queue, or POST /process for one reading."""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

import boto3
import processing
from iot_common import BadRequest, env, parse_json_body, parse_reading, response

logger = logging.getLogger()
logger.setLevel(logging.INFO)


@cache
def _store() -> processing.DynamoDailyStore:
    return processing.DynamoDailyStore(boto3.resource("dynamodb").Table(env("PROCESSED_TABLE_NAME")))


def _max_metrics() -> int:
    return int(env("MAX_METRICS_PER_READING"))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = time.time()
    if "Records" in event:
        result = processing.process_batch(
            event["Records"], store=_store(), max_metrics=_max_metrics(), now=now
        )
        logger.info("batch of %d: %d failed", len(event["Records"]), len(result["batchItemFailures"]))
        return result
    try:
        reading = parse_reading(parse_json_body(event), max_metrics=_max_metrics(), now=now)
    except BadRequest as exc:
        return response(400, {"message": str(exc)})
    return response(200, processing.process_reading(reading, store=_store(), now_ms=round(now * 1000)))
