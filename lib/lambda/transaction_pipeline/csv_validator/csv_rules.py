"""Transaction CSV validation: the rules, the upload request, and the storage calls.

The handler only routes; everything that decides lives here and is tested
without AWS (``validate_csv``, ``parse_upload_request``) or with moto
(``Validator``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

#: Columns every transaction file must have, in any order; extra columns are kept.
REQUIRED_COLUMNS = ("transaction_id", "account_id", "amount", "currency", "timestamp")
#: Row errors reported back; the rest are counted, not listed.
MAX_REPORTED_ERRORS = 20
VALIDATED_PREFIX = "validated/"

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.csv$")
_MAX_AMOUNT = Decimal("1000000000")


class RequestError(ValueError):
    """The request itself is malformed (HTTP 400)."""


@dataclass(frozen=True)
class Config:
    """Environment of the function, read once."""

    bucket: str
    status_table: str
    max_file_bytes: int
    max_rows: int

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(
            bucket=env["UPLOAD_BUCKET"],
            status_table=env["STATUS_TABLE"],
            max_file_bytes=int(env.get("MAX_FILE_BYTES", "1048576")),
            max_rows=int(env.get("MAX_ROWS", "10000")),
        )


@dataclass
class ValidationResult:
    rows: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(message)


def _check_row(line: int, row: dict[str, str], seen: set[str], result: ValidationResult) -> None:
    tid = (row.get("transaction_id") or "").strip()
    if not _ID.match(tid):
        result.add(f"line {line}: transaction_id {tid!r} must be 1-64 letters, digits, '-' or '_'")
    elif tid in seen:
        result.add(f"line {line}: transaction_id {tid!r} appears twice")
    else:
        seen.add(tid)
    if not _ID.match((row.get("account_id") or "").strip()):
        result.add(f"line {line}: account_id {row.get('account_id')!r} is not a valid id")
    raw_amount = (row.get("amount") or "").strip()
    try:
        amount = Decimal(raw_amount)
        if not amount.is_finite() or abs(amount) >= _MAX_AMOUNT:
            raise InvalidOperation
        if amount.as_tuple().exponent < -2:  # type: ignore[operator]
            result.add(f"line {line}: amount {raw_amount!r} has more than 2 decimal places")
    except InvalidOperation:
        result.add(f"line {line}: amount {raw_amount!r} is not a number below {_MAX_AMOUNT}")
    currency = (row.get("currency") or "").strip()
    if not _CURRENCY.match(currency.upper()):
        result.add(f"line {line}: currency {currency!r} must be a 3-letter ISO 4217 code")
    stamp = (row.get("timestamp") or "").strip()
    try:
        parse_timestamp(stamp)
    except ValueError:
        result.add(f"line {line}: timestamp {stamp!r} is not an ISO 8601 date-time with a time zone")


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 date-time with a zone (``Z`` or an offset), as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return value.astimezone(UTC)


def validate_csv(content: str, *, max_rows: int) -> ValidationResult:
    """Check the header and every row; never raises on bad content."""
    result = ValidationResult()
    reader = csv.DictReader(io.StringIO(content))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        result.add("the file is empty: expected a header line")
        return result
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        result.add(f"header: missing column(s) {', '.join(missing)}")
        return result
    reader.fieldnames = header
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        result.rows += 1
        if result.rows > max_rows:
            result.add(f"the file has more than {max_rows} rows")
            break
        if None in row or any(v is None for v in row.values()):
            result.add(f"line {line}: expected {len(header)} fields")
            continue
        _check_row(line, row, seen, result)
    if result.rows == 0 and result.ok:
        result.add("the file has a header but no rows")
    return result


@dataclass(frozen=True)
class UploadRequest:
    file_name: str
    content: str


def parse_upload_request(body: str | None, *, max_file_bytes: int) -> UploadRequest:
    """The POST /upload body; API Gateway's model checks it too (defense in depth)."""
    if not body:
        raise RequestError("the request body is empty: send JSON {file_name, content}")
    try:
        data = json.loads(body)
    except ValueError:
        raise RequestError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise RequestError("the request body must be a JSON object")
    unknown = sorted(set(data) - {"file_name", "content"})
    if unknown:
        raise RequestError(f"unknown field(s): {', '.join(unknown)}")
    name, content = data.get("file_name"), data.get("content")
    if not isinstance(name, str) or not _FILE_NAME.match(name):
        raise RequestError("file_name must be 1-100 letters, digits, '.', '-' or '_' ending in .csv")
    if not isinstance(content, str) or not content:
        raise RequestError("content must be a non-empty string of CSV text")
    size = len(content.encode("utf-8"))
    if size > max_file_bytes:
        raise RequestError(f"content is {size} bytes; the limit is {max_file_bytes}")
    return UploadRequest(file_name=name, content=content)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Validator:
    """Validates uploads and files, records their status, stores valid files."""

    def __init__(self, config: Config, *, s3: Any, dynamodb: Any) -> None:
        self.config = config
        self.s3 = s3
        self.status = dynamodb.Table(config.status_table)

    def _record(self, upload_id: str, status: str, **extra: Any) -> None:
        self.status.put_item(Item={"upload_id": upload_id, "status": status, "timestamp": now_iso(), **extra})

    def upload(self, request: UploadRequest) -> tuple[int, dict[str, Any]]:
        """POST /upload: 202 with the upload id, or 422 with the row errors."""
        upload_id = uuid.uuid4().hex
        result = validate_csv(request.content, max_rows=self.config.max_rows)
        if not result.ok:
            self._record(
                upload_id,
                "REJECTED",
                file_name=request.file_name,
                error_count=result.error_count,
                errors=result.errors,
            )
            return 422, {
                "upload_id": upload_id,
                "status": "REJECTED",
                "error_count": result.error_count,
                "errors": result.errors,
            }
        key = f"{VALIDATED_PREFIX}{upload_id}/{request.file_name}"
        self.s3.put_object(
            Bucket=self.config.bucket,
            Key=key,
            Body=request.content.encode("utf-8"),
            ContentType="text/csv",
            Metadata={"upload-id": upload_id},
        )
        self._record(upload_id, "VALIDATED", file_name=request.file_name, key=key, rows=result.rows)
        return 202, {"upload_id": upload_id, "status": "VALIDATED", "rows": result.rows, "key": key}

    def check_object(self, bucket: str, key: str) -> dict[str, Any]:
        """Workflow step: re-validate a stored file (anyone with write access could
        have put it there) and pass its identity on; raises on an invalid file."""
        if bucket != self.config.bucket or not key.startswith(VALIDATED_PREFIX):
            raise ValueError(f"s3://{bucket}/{key} is not under s3://{self.config.bucket}/{VALIDATED_PREFIX}")
        head = self.s3.head_object(Bucket=bucket, Key=key)
        upload_id = head.get("Metadata", {}).get("upload-id") or key.split("/")[1]
        if head["ContentLength"] > self.config.max_file_bytes:
            self._record(upload_id, "REJECTED", key=key, errors=["file too large"])
            size, limit = head["ContentLength"], self.config.max_file_bytes
            raise ValueError(f"s3://{bucket}/{key} is {size} bytes; the limit is {limit}")
        content = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        result = validate_csv(content, max_rows=self.config.max_rows)
        if not result.ok:
            self._record(upload_id, "REJECTED", key=key, error_count=result.error_count, errors=result.errors)
            raise ValueError(f"s3://{bucket}/{key} is invalid: {'; '.join(result.errors[:3])}")
        self._record(upload_id, "PROCESSING", key=key, rows=result.rows)
        return {"bucket": bucket, "key": key, "upload_id": upload_id, "rows": result.rows}
