"""data-transformer: the workflow's Transform step."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import boto3
import transform_rules

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


@functools.lru_cache(maxsize=1)
def _transformer(config: transform_rules.Config) -> transform_rules.Transformer:
    return transform_rules.Transformer(config, s3=boto3.client("s3"), dynamodb=boto3.resource("dynamodb"))


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    transformer = _transformer(transform_rules.Config.from_env())
    result = transformer.run(bucket=event["bucket"], key=event["key"], upload_id=event["upload_id"])
    LOG.info(json.dumps({"upload_id": result["upload_id"], "written": result["written"]}))
    return result
