"""csv-validator: POST /upload (API Gateway proxy) and the workflow's Validate step."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import boto3
import csv_rules

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


@functools.lru_cache(maxsize=1)
def _validator(config: csv_rules.Config) -> csv_rules.Validator:
    """One set of clients per execution environment (and per configuration)."""
    return csv_rules.Validator(config, s3=boto3.client("s3"), dynamodb=boto3.resource("dynamodb"))


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    validator = _validator(csv_rules.Config.from_env())
    if "httpMethod" in event:  # API Gateway proxy request
        try:
            request = csv_rules.parse_upload_request(
                event.get("body"), max_file_bytes=validator.config.max_file_bytes
            )
        except csv_rules.RequestError as exc:
            return _response(400, {"message": str(exc)})
        status, body = validator.upload(request)
        LOG.info(json.dumps({"upload_id": body["upload_id"], "status": body["status"]}))
        return _response(status, body)
    # Step Functions task: {"bucket": ..., "key": ...}
    result = validator.check_object(event["bucket"], event["key"])
    LOG.info(json.dumps({"upload_id": result["upload_id"], "rows": result["rows"]}))
    return result
