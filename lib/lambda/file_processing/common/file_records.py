"""Shared by the file-processing functions (shipped as a layer): S3 event
parsing, the metadata record and its table, and the generic processing loop.

A processor supplies only an *extractor*: ``(key, data) -> metadata`` that
raises :class:`ExtractionError` for content it cannot read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

#: Which suffixes each processor handles (the S3 notification filters say the same).
SUFFIXES: dict[str, tuple[str, ...]] = {
    "image": (".jpg", ".png"),
    "document": (".pdf", ".txt"),
    "data": (".csv", ".json"),
}
ALL_SUFFIXES = tuple(s for group in SUFFIXES.values() for s in group)


class ExtractionError(ValueError):
    """The object's content is not what its suffix promises."""


@dataclass(frozen=True)
class Config:
    metadata_table: str
    max_file_bytes: int

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(metadata_table=env["METADATA_TABLE"], max_file_bytes=int(env["MAX_FILE_BYTES"]))


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int

    @property
    def suffix(self) -> str:
        name = self.key.rsplit("/", 1)[-1]
        return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def file_id(bucket: str, key: str) -> str:
    """A stable, URL-safe id for an object (the table's partition key)."""
    return hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:32]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def objects_from_event(event: dict[str, Any]) -> list[S3Object]:
    """The objects of an S3 notification event (keys arrive URL-encoded)."""
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError("not an S3 notification event: no Records list")
    found = []
    for record in records:
        try:
            s3 = record["s3"]
            found.append(
                S3Object(
                    bucket=s3["bucket"]["name"],
                    key=unquote_plus(s3["object"]["key"]),
                    size=int(s3["object"].get("size", 0)),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed S3 event record: missing {exc}") from None
    return found


class MetadataTable:
    """The metadata table: one item per object, keyed by :func:`file_id`."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def put(self, item: dict[str, Any]) -> None:
        self.table.put_item(Item=item)

    def get(self, fid: str) -> dict[str, Any] | None:
        return self.table.get_item(Key={"file_id": fid}).get("Item")

    def list(self, *, limit: int, kind: str | None = None, start: str | None = None) -> dict[str, Any]:
        """A page of items (newest first within a kind); ``start`` continues a page."""
        params: dict[str, Any] = {"Limit": limit}
        if start:
            params["ExclusiveStartKey"] = {"file_id": start}
        if kind is None:
            resp = self.table.scan(**params)
        else:
            if start:
                item = self.get(start)
                if item is None:
                    raise KeyError(start)
                params["ExclusiveStartKey"] = {
                    "file_id": start,
                    "kind": item["kind"],
                    "processed_at": item["processed_at"],
                }
            resp = self.table.query(
                IndexName="by-kind",
                KeyConditionExpression="kind = :k",
                ExpressionAttributeValues={":k": kind},
                ScanIndexForward=False,
                **params,
            )
        last = resp.get("LastEvaluatedKey")
        return {"items": resp.get("Items", []), "next": last["file_id"] if last else None}


Extractor = Callable[[S3Object, bytes], dict[str, Any]]


@dataclass
class Processor:
    """Runs one processor kind over an S3 event and records every object."""

    kind: str
    extractor: Extractor
    s3: Any
    table: MetadataTable
    max_file_bytes: int
    #: Read at most this many bytes (images need only their header).
    read_limit: int | None = None

    def _read(self, obj: S3Object) -> bytes:
        params: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if self.read_limit is not None:
            params["Range"] = f"bytes=0-{self.read_limit - 1}"
        return self.s3.get_object(**params)["Body"].read()

    def one(self, obj: S3Object) -> dict[str, Any] | None:
        if obj.suffix not in SUFFIXES[self.kind]:
            return None
        item: dict[str, Any] = {
            "file_id": file_id(obj.bucket, obj.key),
            "bucket": obj.bucket,
            "key": obj.key,
            "size": obj.size,
            "suffix": obj.suffix,
            "kind": self.kind,
            "processed_at": now_iso(),
        }
        if obj.size > self.max_file_bytes:
            item.update(
                status="REJECTED", reason=f"file is {obj.size} bytes; the limit is {self.max_file_bytes}"
            )
        else:
            try:
                item.update(status="PROCESSED", metadata=self.extractor(obj, self._read(obj)))
            except ExtractionError as exc:
                item.update(status="FAILED", reason=str(exc))
        self.table.put(item)
        return item

    def run(self, event: dict[str, Any]) -> dict[str, Any]:
        summary: dict[str, Any] = {"processed": [], "rejected": [], "failed": [], "skipped": []}
        for obj in objects_from_event(event):
            item = self.one(obj)
            if item is None:
                summary["skipped"].append(obj.key)
            else:
                summary[item["status"].lower()].append(item["file_id"])
        return summary
