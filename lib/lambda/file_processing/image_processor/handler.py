"""image-processor: S3 notifications for .jpg and .png uploads."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import boto3
import file_records
import image_meta

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


@functools.lru_cache(maxsize=1)
def _processor(config: file_records.Config) -> file_records.Processor:
    table = file_records.MetadataTable(boto3.resource("dynamodb").Table(config.metadata_table))
    return file_records.Processor(
        kind="image",
        extractor=image_meta.extract,
        s3=boto3.client("s3"),
        table=table,
        max_file_bytes=config.max_file_bytes,
        read_limit=image_meta.HEADER_BYTES,
    )


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    summary = _processor(file_records.Config.from_env()).run(event)
    LOG.info(json.dumps(summary))
    return summary
