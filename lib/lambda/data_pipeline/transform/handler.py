"""Transform: normalise validated records."""

from __future__ import annotations

from typing import Any

from transformation import transform


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return transform(event)
