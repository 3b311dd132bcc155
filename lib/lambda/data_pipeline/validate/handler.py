"""Validate: keep well-formed records, count the rest; fail if none is left."""

from __future__ import annotations

from typing import Any

from validation import validate


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return validate(event)
