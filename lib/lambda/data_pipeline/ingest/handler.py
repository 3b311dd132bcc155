"""Ingest: store the incoming batch in the raw bucket and hand on its location."""

from __future__ import annotations

from typing import Any

from ingestion import ingest


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return ingest(event, request_id=getattr(context, "aws_request_id", "local"))
