"""What the emulator's API Gateway knows about one request to an invoke URL, and the answers it gives itself.

:class:`Call` is one request to a stage (API, account, region, stage, path, method, headers,
query, body) and what the gateway learns on the way (stage, resource, path parameters, caller
identity); :meth:`Call.arn` is the ``execute-api`` ARN IAM and Lambda policies are matched
against. :class:`Reply` is an HTTP answer; :class:`GatewayError` is one of API Gateway's default
gateway responses (:data:`GATEWAY`: status, ``x-amzn-ErrorType``, message), raised by any step
and turned into its reply by the middleware.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.utilities.utils import get_partition
from werkzeug.datastructures import EnvironHeaders

JSON = ("Content-Type", "application/json")
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
#: API Gateway's default gateway responses: status, x-amzn-ErrorType, message.
GATEWAY: dict[str, tuple[int, str, str]] = {
    "token": (403, "MissingAuthenticationTokenException", "Missing Authentication Token"),
    "forbidden": (403, "ForbiddenException", "Forbidden"),
    "client": (403, "UnrecognizedClientException", "The security token included in the request is invalid."),
    "incomplete": (
        403,
        "IncompleteSignatureException",
        "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and 'X-Amz-Date'.",
    ),
    "signature": (403, "InvalidSignatureException", MISMATCH),
    "denied": (403, "AccessDeniedException", "not authorized"),
    "bad_request": (400, "BadRequestException", "Invalid request body"),
    "throttled": (429, "TooManyRequestsException", "Too Many Requests"),
    "timeout": (504, "InternalServerErrorException", "Endpoint request timed out"),
    "internal": (500, "InternalServerErrorException", "Internal server error"),
    "bad_gateway": (502, "InternalServerErrorException", "Internal server error"),
}


class GatewayError(Exception):
    """An answer API Gateway gives itself (``GATEWAY[kind]``); ``detail`` is what its log would say."""

    def __init__(self, kind: str, message: str = "", *, detail: str = "", key: str = "message") -> None:
        self.status, self.error_type, default = GATEWAY[kind]
        self.message, self.detail, self.key = message or default, detail, key
        super().__init__(self.message)

    def reply(self) -> Reply:
        body = json.dumps({self.key: self.message}, separators=(",", ":")).encode()
        return Reply(self.status, [JSON, ("x-amzn-ErrorType", self.error_type)], body)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Call:
    """One request to an invoke URL, and what the gateway learnt about it on the way."""

    api: Any
    account: str
    region: str
    stage_name: str
    path: str
    method: str
    host: str
    raw_uri: str
    headers: EnvironHeaders
    query: list[tuple[str, str]]
    body: bytes
    source_ip: str
    via_host: bool
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.time)
    stage: Any = None
    resource: Any = None
    params: dict[str, str] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)

    def arn(self, method: str, path: str) -> str:
        """``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}``"""
        api = f"arn:{get_partition(self.region)}:execute-api:{self.region}:{self.account}:{self.api.id}"
        return f"{api}/{self.stage_name}/{method}/{path.lstrip('/')}"
