"""Load: write transformed records to the DynamoDB table."""

from __future__ import annotations

from typing import Any

from loading import load


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return load(event)
