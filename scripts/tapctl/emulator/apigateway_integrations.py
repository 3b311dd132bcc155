"""The integrations of the emulator's API Gateway: Lambda proxy through the code executor, and MOCK.

:func:`integrate` runs a method's integration. ``AWS_PROXY`` to Lambda (:func:`lambda_proxy`)
resolves stage variables in the function ARN, requires the function's resource policy to let
API Gateway invoke it from this method (:func:`lambda_allows`) unless the integration has
credentials, runs the function with the REST API proxy event (:func:`proxy_event`, payload
format 1.0) through the installed Lambda executor, and maps its answer to HTTP
(:func:`proxy_reply`): throttled is 429, past the integration timeout 504, an error or a
malformed proxy response 502. ``MOCK`` (:func:`mock`) answers with the integration response the
request template's status code selects. Any other integration is an internal error.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
import time
from typing import Any

from moto.awslambda.utils import get_backend as lambda_backend

from scripts.tapctl.emulator.apigateway_auth import matches
from scripts.tapctl.emulator.apigateway_model import JSON, Call, GatewayError, Reply
from scripts.tapctl.emulator.lambda_executor import executor
from scripts.tapctl.emulator.lambda_run import Throttled

LAMBDA_URI_RE = re.compile(r":lambda:path/2015-03-31/functions/(.+)/invocations$")
PROXY_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
IDENTITY_KEYS = (  # noqa: SIM905 - a word list, not data
    "cognitoIdentityPoolId cognitoIdentityId cognitoAuthenticationType cognitoAuthenticationProvider "
    "principalOrgId accountId caller user userArn accessKey apiKey apiKeyId"
).split()
DEFAULT_TIMEOUT_MS = 29_000


def integrate(call: Call, method: Any) -> Reply:
    integration = method.method_integration
    kind = integration.integration_type if integration is not None else "no"
    if kind == "AWS_PROXY" and LAMBDA_URI_RE.search(integration.uri or ""):
        return lambda_proxy(call, method, integration)
    if kind == "MOCK":
        return mock(call, integration)
    where = f"{method.http_method} {call.resource.get_path()}"
    message = f"The emulator does not run {kind} integrations ({where}): only AWS_PROXY to Lambda and MOCK."
    raise GatewayError("internal", message)


def lambda_proxy(call: Call, method: Any, integration: Any) -> Reply:
    arn = LAMBDA_URI_RE.search(integration.uri)[1]  # type: ignore[index]
    arn = re.sub(r"\$\{stageVariables\.([^}]+)\}", lambda m: str(call.stage.variables.get(m[1], "")), arn)
    try:
        fn = lambda_backend(arn.split(":")[4], arn.split(":")[3]).get_function(arn)
    except Exception as exc:
        raise GatewayError("internal", detail=f"integration function {arn}: {exc}") from None
    template = call.resource.get_path()
    sources = {
        call.arn(call.method, call.path),
        *(call.arn(m, template) for m in (call.method, method.http_method)),
    }
    if not integration.credentials and not lambda_allows(fn, sources, call.account):
        detail = f"Invalid permissions on Lambda function {fn.function_name}: its policy does not let"
        raise GatewayError(
            "internal", detail=f"{detail} apigateway.amazonaws.com invoke it from {sorted(sources)}"
        )
    try:
        result = executor().run(fn, json.dumps(proxy_event(call)).encode())
    except Throttled:
        raise GatewayError("throttled") from None
    if result.duration_ms > int(integration.timeout_in_millis or DEFAULT_TIMEOUT_MS):
        raise GatewayError("timeout")
    if result.function_error:
        raise GatewayError("bad_gateway", detail=f"{fn.function_name} failed: {result.payload[:500]!r}")
    return proxy_reply(result.payload)


def lambda_allows(fn: Any, source_arns: set[str], account: str) -> bool:
    """Whether the function's resource policy lets API Gateway invoke it from one of ``source_arns``."""
    for statement in list(getattr(getattr(fn, "policy", None), "statements", [])):
        principal = statement.get("Principal")
        service = principal.get("Service") if isinstance(principal, dict) else principal
        condition = statement.get("Condition") or {}
        source = (condition.get("ArnLike") or {}).get("AWS:SourceArn")
        owner = (condition.get("StringEquals") or {}).get("AWS:SourceAccount")
        allowed = statement.get("Effect", "Allow") == "Allow" and service in ("apigateway.amazonaws.com", "*")
        invokes = matches(statement.get("Action", []), "lambda:InvokeFunction", fold=True)
        sourced = source is None or any(matches(source, arn) for arn in source_arns)
        if allowed and invokes and sourced and owner in (None, account):
            return True
    return False


def proxy_event(call: Call) -> dict[str, Any]:
    """The REST API Lambda proxy event (payload format 1.0)."""
    headers = {"X-Forwarded-For": call.source_ip, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}
    headers.update(call.headers.items())
    multi_query: dict[str, list[str]] = {}
    for key, value in call.query:
        multi_query.setdefault(key, []).append(value)
    content_type = (call.headers.get("Content-Type") or "").split(";")[0].strip()
    binary = any(fnmatch.fnmatchcase(content_type, t) for t in call.api.binaryMediaTypes or [])
    body = base64.b64encode(call.body).decode() if binary else call.body.decode("utf-8", "replace")
    identity = dict.fromkeys(IDENTITY_KEYS) | {
        "sourceIp": call.source_ip,
        "userAgent": call.headers.get("User-Agent"),
    }
    return {
        "resource": call.resource.get_path(),
        "path": call.path,
        "httpMethod": call.method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": call.params or None,
        "stageVariables": dict(call.stage.variables or {}) or None,
        "requestContext": {
            "resourceId": call.resource.id,
            "resourcePath": call.resource.get_path(),
            "httpMethod": call.method,
            "extendedRequestId": call.request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(call.started)),
            "path": f"/{call.stage_name}{call.path}",
            "accountId": call.account,
            "protocol": "HTTP/1.1",
            "stage": call.stage_name,
            "domainPrefix": call.api.id,
            "requestTimeEpoch": int(call.started * 1000),
            "requestId": call.request_id,
            "identity": identity | call.identity,
            "domainName": call.host,
            "apiId": call.api.id,
        },
        "body": body or None,
        "isBase64Encoded": binary,
    }


def proxy_reply(payload: bytes) -> Reply:
    """The function's answer mapped to HTTP; anything but the proxy response format is a 502."""
    try:
        doc = json.loads(payload)
        body = doc.get("body") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or set(doc) - PROXY_KEYS or not isinstance(body, str | None):
            raise ValueError(f"not a proxy response object: {payload[:200]!r}")
        status, body = int(doc["statusCode"]), body or ""
        data = base64.b64decode(body, validate=True) if doc.get("isBase64Encoded") else body.encode()
        multi = [(str(k), str(v)) for k, vs in (doc.get("multiValueHeaders") or {}).items() for v in vs]
        single = [(str(k), str(v)) for k, v in (doc.get("headers") or {}).items()]
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error) as exc:
        raise GatewayError("bad_gateway", detail=f"Malformed Lambda proxy response: {exc}") from None
    taken = {k.lower() for k, _ in multi}
    headers = [(k, v) for k, v in single if k.lower() not in taken] + multi
    if "content-type" not in {k.lower() for k, _ in headers}:
        headers.append(JSON)
    return Reply(status, headers, data)


def mock(call: Call, integration: Any) -> Reply:
    """A MOCK integration: the request template's status code selects the integration response."""
    template = (integration.request_templates or {}).get("application/json") or '{"statusCode": 200}'
    try:
        status = str(int(json.loads(template).get("statusCode", 200)))
    except (ValueError, TypeError, AttributeError):
        status = "200"  # a VTL template: the emulator renders none
    responses = list((integration.integration_responses or {}).values())
    chosen = [r for r in responses if r.selection_pattern and re.fullmatch(r.selection_pattern, status)]
    chosen += [r for r in responses if not r.selection_pattern]
    if not chosen:
        raise GatewayError("internal", detail="No match for output mapping and no default output mapping")
    headers = dict([JSON])
    for name, raw in (chosen[0].response_parameters or {}).items():
        value, header = str(raw), name.removeprefix("method.response.header.")
        if header != name and len(value) >= 2 and value[0] == value[-1] == "'":
            headers[header] = value[1:-1]
        elif header != name and value.startswith("method.request.header."):
            headers[header] = call.headers.get(value.rsplit(".", 1)[-1], "")
    body = ((chosen[0].response_templates or {}).get("application/json") or "").encode()
    return Reply(int(chosen[0].status_code), list(headers.items()), body)
