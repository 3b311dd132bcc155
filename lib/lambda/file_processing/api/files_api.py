"""The file API: list and read metadata, presigned download and upload URLs.

Routes (API Gateway REST, Lambda proxy):

* ``GET  /files?kind=&limit=&next=``        a page of metadata records
* ``GET  /files/{file_id}``                 one record
* ``GET  /files/{file_id}/download-url``    a presigned GET URL for the object
* ``POST /uploads`` ``{file_name, content_type}``  a presigned PUT URL under ``uploads/``

Bad input answers 400 with a ``message``; an unknown id 404.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from file_records import ALL_SUFFIXES, SUFFIXES, MetadataTable, file_id

MAX_PAGE = 100
DEFAULT_PAGE = 25
UPLOAD_PREFIX = "uploads/"
_FILE_ID = re.compile(r"^[0-9a-f]{32}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,199}$")
_CONTENT_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Config:
    bucket: str
    metadata_table: str
    url_expiry_seconds: int
    #: Browser origins allowed to read responses ("*" for any).
    allowed_origins: tuple[str, ...]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(
            bucket=env["UPLOAD_BUCKET"],
            metadata_table=env["METADATA_TABLE"],
            url_expiry_seconds=int(env.get("URL_EXPIRY_SECONDS", "900")),
            allowed_origins=tuple(o for o in env.get("ALLOWED_ORIGINS", "*").split(",") if o),
        )

    def cors_origin(self, request_origin: str | None) -> str:
        """The ``Access-Control-Allow-Origin`` for a request: ``*``, or the
        request's origin when it is allowed, else the first allowed origin."""
        if "*" in self.allowed_origins:
            return "*"
        if request_origin in self.allowed_origins:
            return request_origin
        return self.allowed_origins[0]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def response(status: int, body: dict[str, Any], *, origin: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Headers": "Content-Type,Authorization",
            "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
        },
        "body": json.dumps(body, default=_json_default),
    }


def _limit(query: dict[str, str]) -> int:
    raw = query.get("limit", str(DEFAULT_PAGE))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise ApiError(400, f"limit must be an integer from 1 to {MAX_PAGE}, not {raw!r}")
    return int(raw)


def _file_id(params: dict[str, str]) -> str:
    fid = params.get("file_id", "")
    if not _FILE_ID.match(fid):
        raise ApiError(400, "file_id must be 32 lowercase hexadecimal characters")
    return fid


def _upload_request(body: str | None) -> tuple[str, str]:
    if not body:
        raise ApiError(400, "the request body is empty: send JSON {file_name, content_type}")
    try:
        data = json.loads(body)
    except ValueError:
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    name, ctype = data.get("file_name"), data.get("content_type", "application/octet-stream")
    if not isinstance(name, str) or not _FILE_NAME.match(name):
        raise ApiError(400, "file_name must be 1-200 letters, digits, spaces, '.', '-' or '_'")
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in ALL_SUFFIXES:
        raise ApiError(
            400, f"file type {suffix or '(none)'!r} is not processed; use one of {', '.join(ALL_SUFFIXES)}"
        )
    if not isinstance(ctype, str) or not _CONTENT_TYPE.match(ctype):
        raise ApiError(400, "content_type must be a MIME type such as text/csv")
    return name, ctype


class FilesApi:
    def __init__(self, config: Config, *, s3: Any, table: MetadataTable) -> None:
        self.config = config
        self.s3 = s3
        self.table = table

    def _record(self, params: dict[str, str]) -> dict[str, Any]:
        fid = _file_id(params)
        item = self.table.get(fid)
        if item is None:
            raise ApiError(404, f"no file with id {fid}")
        return item

    def list_files(self, query: dict[str, str]) -> dict[str, Any]:
        kind = query.get("kind")
        if kind is not None and kind not in SUFFIXES:
            raise ApiError(400, f"kind must be one of {', '.join(SUFFIXES)}, not {kind!r}")
        start = query.get("next")
        if start is not None:
            _file_id({"file_id": start})
        try:
            page = self.table.list(limit=_limit(query), kind=kind, start=start)
        except KeyError:
            raise ApiError(400, f"next {start!r} names no file") from None
        return {"files": page["items"], "next": page["next"]}

    def download_url(self, params: dict[str, str]) -> dict[str, Any]:
        item = self._record(params)
        url = self.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": item["bucket"], "Key": item["key"]},
            ExpiresIn=self.config.url_expiry_seconds,
        )
        return {"file_id": item["file_id"], "url": url, "expires_in": self.config.url_expiry_seconds}

    def upload_url(self, body: str | None) -> dict[str, Any]:
        name, ctype = _upload_request(body)
        key = f"{UPLOAD_PREFIX}{uuid.uuid4().hex}/{name}"
        url = self.s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.config.bucket, "Key": key, "ContentType": ctype},
            ExpiresIn=self.config.url_expiry_seconds,
        )
        return {
            "file_id": file_id(self.config.bucket, key),
            "key": key,
            "url": url,
            "method": "PUT",
            "headers": {"Content-Type": ctype},
            "expires_in": self.config.url_expiry_seconds,
        }

    def route(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method, resource = event.get("httpMethod"), event.get("resource")
        query = event.get("queryStringParameters") or {}
        params = event.get("pathParameters") or {}
        routes = {
            ("GET", "/files"): lambda: self.list_files(query),
            ("GET", "/files/{file_id}"): lambda: self._record(params),
            ("GET", "/files/{file_id}/download-url"): lambda: self.download_url(params),
            ("POST", "/uploads"): lambda: self.upload_url(event.get("body")),
        }
        action = routes.get((method, resource))
        if action is None:
            known = {r for _, r in routes}
            if resource in known:
                return 405, {"message": f"method {method} is not allowed on {resource}"}
            return 404, {"message": f"no route for {method} {resource}"}
        try:
            return (201 if method == "POST" else 200), action()
        except ApiError as exc:
            return exc.status, {"message": str(exc)}
