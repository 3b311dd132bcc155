"""HTTP requests to a deployed API's invoke URL, as a client of the API makes them.

``call("POST", url, body=..., sign=True)`` signs with SigV4 (service
``execute-api``) using the caller's credentials, as an AWS_IAM method needs.
Like boto3, the client honours ``AWS_ENDPOINT_URL``: when it is set (the
embedded AWS), the request is sent to that endpoint with the invoke URL's host
in its ``Host`` header, exactly the bytes AWS would receive; otherwise it goes
to the invoke URL over HTTPS.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    method: str,
    url: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    sign: bool = False,
    region: str | None = None,
    timeout: float = 30.0,
) -> Response:
    """One request to ``url`` (an invoke URL plus the route's path)."""
    if query:
        url = f"{url}?{urllib.parse.urlencode(query)}"
    data = None if body is None else (body if isinstance(body, bytes | str) else json.dumps(body))
    if isinstance(data, str):
        data = data.encode()
    sent = (
        {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
    )
    parts = urllib.parse.urlsplit(url)
    if sign:
        session = botocore.session.get_session()
        credentials = session.get_credentials()
        if credentials is None:
            raise RuntimeError("no AWS credentials to sign the request with")
        region = region or parts.hostname.split(".")[2]  # <api>.execute-api.<region>.amazonaws.com
        request = AWSRequest(method=method, url=url, data=data, headers=sent)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        sent = dict(request.headers.items())
    sent["Host"] = parts.netloc
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        target = urllib.parse.urlsplit(endpoint)
        conn: http.client.HTTPConnection = (
            http.client.HTTPSConnection(target.netloc, timeout=timeout)
            if target.scheme == "https"
            else http.client.HTTPConnection(target.netloc, timeout=timeout)
        )
    else:
        conn = http.client.HTTPSConnection(parts.netloc, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=sent)
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()
