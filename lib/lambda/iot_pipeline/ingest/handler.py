"""POST /ingest: validate a reading, write it to the raw table and the queue."""

from __future__ import annotations

import json
import logging
import time
from functools import cache
from typing import Any

import boto3
import ingestion
from iot_common import BadRequest, env, parse_json_body, response

logger = logging.getLogger()
logger.setLevel(logging.INFO)


@cache
def _deps() -> tuple[ingestion.DynamoRawStore, ingestion.SqsQueue]:
    table = boto3.resource("dynamodb").Table(env("RAW_TABLE_NAME"))
    return ingestion.DynamoRawStore(table), ingestion.SqsQueue(boto3.client("sqs"), env("QUEUE_URL"))


@cache
def _max_metrics() -> int:
    """From the pipeline's config parameter (read once per container)."""
    raw = boto3.client("ssm").get_parameter(Name=env("CONFIG_PARAMETER"))["Parameter"]["Value"]
    return int(json.loads(raw)["max_metrics_per_reading"])


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store, queue = _deps()
    try:
        payload = parse_json_body(event)
        result = ingestion.ingest(
            payload, store=store, queue=queue, max_metrics=_max_metrics(), now=time.time()
        )
    except BadRequest as exc:
        logger.info("rejected reading: %s", exc)
        return response(400, {"message": str(exc)})
    logger.info("ingested reading of %s", result["device_id"])
    return response(202, result)
