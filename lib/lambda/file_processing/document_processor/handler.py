"""document-processor: S3 notifications for .pdf and .txt uploads."""

from __future__ import annotations

import functools
import json
import logging
import os
from typing import Any

import boto3
import document_meta
import file_records

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


@functools.lru_cache(maxsize=1)
def _processor(config: file_records.Config, model_id: str) -> file_records.Processor:
    summarizer = (
        document_meta.Summarizer(model_id=model_id, client=boto3.client("bedrock-runtime"))
        if model_id
        else None
    )
    table = file_records.MetadataTable(boto3.resource("dynamodb").Table(config.metadata_table))
    return file_records.Processor(
        kind="document",
        extractor=document_meta.make_extractor(summarizer),
        s3=boto3.client("s3"),
        table=table,
        max_file_bytes=config.max_file_bytes,
    )


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    # BEDROCK_MODEL_ID is set only where the environment enables Bedrock.
    processor = _processor(file_records.Config.from_env(), os.environ.get("BEDROCK_MODEL_ID", ""))
    summary = processor.run(event)
    LOG.info(json.dumps(summary))
    return summary
