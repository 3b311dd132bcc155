"""API Gateway REST API invoke URLs in the embedded AWS, answered as API Gateway answers them.

moto stores REST APIs but never runs a request to a stage. The :class:`ApiGatewayInvoke` WSGI
middleware (outermost in ``emulator.server``: nothing here is replayed) owns requests to
``{api}.execute-api.{region}.amazonaws.com`` or ``/restapis/{api}/{stage}/_user_request_/...``
(LocalStack's form) whose id is a REST API of any account (:func:`parse_call`); all else goes to
moto untouched. :func:`handle` routes on moto's resource tree (``emulator_apigateway_routing``),
applies the method's checks in API Gateway's order — IAM: SigV4 over the received Host, identity
policies for ``execute-api:Invoke`` (``emulator_apigateway_auth``); API key in a usage plan of the
stage; request validator: required parameters, JSON Schema draft 4 body model
(``emulator_apigateway_checks``) — then runs the integration: ``AWS_PROXY`` to Lambda through the
emulator's executor (the function's policy must let API Gateway invoke it) or ``MOCK``
(``emulator_apigateway_integrations``), with API Gateway's default gateway responses
(``emulator_apigateway_model``), all modules of ``scripts.tapctl`` whose names are re-exported
here. Not emulated: Lambda/Cognito authorizers, other integrations, resource policies of the API,
gateway response overrides, VTL, throttling, deployment snapshots (a stage serves moto's live
resource tree).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from moto.apigateway.models import apigateway_backends
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import is_hop_by_hop_header
from werkzeug.wsgi import get_input_stream

from scripts.tapctl.emulator.apigateway_auth import authorize, evaluate, matches, verify_signature
from scripts.tapctl.emulator.apigateway_checks import check_api_key, validate
from scripts.tapctl.emulator.apigateway_integrations import (
    integrate,
    lambda_allows,
    lambda_proxy,
    mock,
    proxy_event,
    proxy_reply,
)
from scripts.tapctl.emulator.apigateway_model import GATEWAY, Call, GatewayError, Reply
from scripts.tapctl.emulator.apigateway_routing import Route, route_path

__all__ = [
    "GATEWAY",
    "ApiGatewayInvoke",
    "Call",
    "GatewayError",
    "Reply",
    "Route",
    "authorize",
    "check_api_key",
    "evaluate",
    "find_api",
    "handle",
    "integrate",
    "lambda_allows",
    "lambda_proxy",
    "matches",
    "mock",
    "parse_call",
    "proxy_event",
    "proxy_reply",
    "route_path",
    "validate",
    "verify_signature",
]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
log = logging.getLogger("tap.emulator")

HOST_RE = re.compile(r"^([a-z0-9_-]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?::\d+)?$")
USER_REQUEST_RE = re.compile(r"^/restapis/([^/]+)/([^/]+)/_user_request_/?(.*)$")


class ApiGatewayInvoke:
    """WSGI middleware: invoke-URL requests are answered here, all others go to ``app``."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        call = parse_call(environ)
        if call is None:
            return self.app(environ, start_response)
        try:
            reply = handle(call)
        except GatewayError as exc:
            if exc.detail:
                log.warning("execute-api %s %s %s: %s", call.api.id, call.method, call.path, exc.detail)
            reply = exc.reply()
        except Exception:
            log.exception("execute-api %s %s %s failed in the emulator", call.api.id, call.method, call.path)
            reply = GatewayError("internal").reply()
        headers = [
            (k, v) for k, v in reply.headers if k.lower() != "content-length" and not is_hop_by_hop_header(k)
        ]
        headers += [("x-amzn-RequestId", call.request_id), ("Content-Length", str(len(reply.body)))]
        try:
            status = f"{reply.status} {HTTPStatus(reply.status).phrase}"
        except ValueError:
            status = f"{reply.status} Status"
        start_response(status, headers)
        return [reply.body]


def _text(wsgi: str) -> str:
    return wsgi.encode("latin-1").decode("utf-8", "replace")


def parse_call(environ: dict[str, Any]) -> Call | None:
    """The invoke-URL request in ``environ``, or None when it is not one (moto answers it)."""
    host, path = environ.get("HTTP_HOST", ""), _text(environ.get("PATH_INFO", ""))
    if match := HOST_RE.match(host.lower()):
        api_id, region, via_host = match[1], match[2], True
        stage, _, rest = path.lstrip("/").partition("/")
    elif match := USER_REQUEST_RE.match(path):
        api_id, region, via_host, stage, rest = match[1], None, False, match[2], match[3]
    else:
        return None
    if (found := find_api(api_id, region)) is None:
        return None
    query = environ.get("QUERY_STRING", "")
    return Call(
        *found,
        stage_name=stage,
        path="/" + rest,
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        host=host,
        raw_uri=environ.get("RAW_URI") or environ.get("PATH_INFO", "") + (f"?{query}" if query else ""),
        headers=EnvironHeaders(environ),
        query=parse_qsl(_text(query), keep_blank_values=True),
        body=get_input_stream(environ).read(),
        source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
        via_host=via_host,
    )


def find_api(api_id: str, region: str | None) -> tuple[Any, str, str] | None:
    """The REST API ``api_id`` in any account (and ``region`` if given): (api, account, region)."""
    for account, regions in list(apigateway_backends.items()):
        for name, backend in list(regions.items()):
            apis = {key.lower(): api for key, api in list(backend.apis.items())}
            if region in (None, name) and api_id.lower() in apis:
                return apis[api_id.lower()], account, name
    return None


def handle(call: Call) -> Reply:
    call.stage = call.api.stages.get(call.stage_name)
    if call.stage is None:
        raise GatewayError("token")
    if call.via_host and call.api.disableExecuteApiEndpoint:
        raise GatewayError("forbidden")
    route = route_path(call.api, call.path)
    methods = route[0].resource_methods if route else {}
    method = methods.get(call.method) or methods.get("ANY")
    if route is None or method is None:
        raise GatewayError("token")
    call.resource, call.params = route
    authorize(call, method)
    if method.api_key_required:
        check_api_key(call)
    validate(call, method)
    return integrate(call, method)
