"""files-api: the REST API over the metadata table (API Gateway Lambda proxy)."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import boto3
import file_records
import files_api
from botocore.config import Config as BotoConfig

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


@functools.lru_cache(maxsize=1)
def _api(config: files_api.Config) -> files_api.FilesApi:
    # SigV4 presigned URLs (the only kind KMS-encrypted buckets accept).
    s3 = boto3.client("s3", config=BotoConfig(signature_version="s3v4"))
    table = file_records.MetadataTable(boto3.resource("dynamodb").Table(config.metadata_table))
    return files_api.FilesApi(config, s3=s3, table=table)


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    api = _api(files_api.Config.from_env())
    status, body = api.route(event)
    LOG.info(json.dumps({"route": f"{event.get('httpMethod')} {event.get('resource')}", "status": status}))
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return files_api.response(status, body, origin=api.config.cors_origin(headers.get("origin")))
