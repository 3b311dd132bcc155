"""Transaction transformation: validated CSV rows -> normalized DynamoDB items."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

_CENT = Decimal("0.01")
_CSV_COLUMNS = frozenset({"transaction_id", "account_id", "amount", "currency", "timestamp"})


@dataclass(frozen=True)
class Config:
    transactions_table: str
    status_table: str

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(transactions_table=env["TRANSACTIONS_TABLE"], status_table=env["STATUS_TABLE"])


class TransformError(ValueError):
    """A row the validator should have rejected; fails the workflow step."""


def normalize_row(row: dict[str, str], *, upload_id: str) -> dict[str, Any]:
    """One CSV row as a transactions-table item (amounts as Decimal, times in UTC)."""
    try:
        stamp = datetime.fromisoformat(row["timestamp"].strip().replace("Z", "+00:00"))
        amount = Decimal(row["amount"].strip()).quantize(_CENT, rounding=ROUND_HALF_EVEN)
    except (KeyError, ValueError, ArithmeticError) as exc:
        raise TransformError(f"row {row.get('transaction_id')!r} cannot be transformed: {exc}") from None
    if stamp.tzinfo is None:
        raise TransformError(f"row {row.get('transaction_id')!r}: timestamp has no time zone")
    utc = stamp.astimezone(UTC)
    item: dict[str, Any] = {
        "transaction_id": row["transaction_id"].strip(),
        "account_id": row["account_id"].strip(),
        "amount": amount,
        "currency": row["currency"].strip().upper(),
        "timestamp": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "transaction_date": utc.strftime("%Y-%m-%d"),
        "direction": "CREDIT" if amount >= 0 else "DEBIT",
        "upload_id": upload_id,
    }
    # Optional columns (description, merchant, ...) are kept as trimmed strings.
    for column, value in row.items():
        if column and column not in _CSV_COLUMNS and column not in item and value and value.strip():
            item[column] = value.strip()
    return item


def transform(content: str, *, upload_id: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(content))
    reader.fieldnames = [h.strip() for h in reader.fieldnames or []]
    return [normalize_row(row, upload_id=upload_id) for row in reader]


def totals(items: list[dict[str, Any]]) -> dict[str, str]:
    """Sum of amounts per currency, as strings (JSON-safe)."""
    sums: dict[str, Decimal] = {}
    for item in items:
        sums[item["currency"]] = sums.get(item["currency"], Decimal(0)) + item["amount"]
    return {cur: str(total) for cur, total in sorted(sums.items())}


class Transformer:
    def __init__(self, config: Config, *, s3: Any, dynamodb: Any) -> None:
        self.s3 = s3
        self.transactions = dynamodb.Table(config.transactions_table)
        self.status = dynamodb.Table(config.status_table)

    def run(self, *, bucket: str, key: str, upload_id: str) -> dict[str, Any]:
        content = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        items = transform(content, upload_id=upload_id)
        with self.transactions.batch_writer(overwrite_by_pkeys=["transaction_id"]) as batch:
            for item in items:
                batch.put_item(Item=item)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.status.update_item(
            Key={"upload_id": upload_id},
            UpdateExpression="SET #s = :s, #t = :t, written = :n",
            ExpressionAttributeNames={"#s": "status", "#t": "timestamp"},
            ExpressionAttributeValues={":s": "TRANSFORMED", ":t": now, ":n": len(items)},
        )
        return {
            "bucket": bucket,
            "key": key,
            "upload_id": upload_id,
            "written": len(items),
            "totals": totals(items),
        }
