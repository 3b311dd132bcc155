"""Data-file metadata: CSV shape and JSON structure."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from file_records import ExtractionError, S3Object

#: Column and key names kept in a record (DynamoDB items are limited to 400 KB).
MAX_NAMES = 50


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractionError(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None


def csv_info(data: bytes) -> dict[str, Any]:
    rows = list(csv.reader(io.StringIO(_text(data))))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ExtractionError("CSV file is empty")
    header = [h.strip() for h in rows[0]]
    ragged = sum(1 for r in rows[1:] if len(r) != len(header))
    return {
        "format": "csv",
        "columns": header[:MAX_NAMES],
        "column_count": len(header),
        "row_count": len(rows) - 1,
        "ragged_rows": ragged,
    }


def json_info(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(_text(data))
    except ValueError as exc:
        raise ExtractionError(f"invalid JSON: {exc}") from None
    if isinstance(doc, list):
        return {"format": "json", "json_type": "array", "item_count": len(doc)}
    if isinstance(doc, dict):
        return {
            "format": "json",
            "json_type": "object",
            "keys": sorted(doc)[:MAX_NAMES],
            "key_count": len(doc),
        }
    return {"format": "json", "json_type": type(doc).__name__}


def extract(obj: S3Object, data: bytes) -> dict[str, Any]:
    return csv_info(data) if obj.suffix == ".csv" else json_info(data)
