"""API Gateway REST API invoke URLs in the embedded AWS, answered as API Gateway answers them.

moto stores REST APIs but never runs a request to a stage. This WSGI middleware (outermost in
``emulator_server``: nothing here is replayed) owns requests to ``{api}.execute-api.{region}.amazonaws.com``
or ``/restapis/{api}/{stage}/_user_request_/...`` (LocalStack's form) whose id is a REST API of any
account; all else goes to moto untouched. It routes on moto's resource tree, applies the method's
checks in API Gateway's order (IAM: SigV4 over the received Host, identity policies for
``execute-api:Invoke``; API key in a usage plan of the stage; request validator: required
parameters, JSON Schema draft 4 body model), then runs the integration: ``AWS_PROXY`` to Lambda
through the emulator's executor (the function's policy must let API Gateway invoke it) or
``MOCK``, with API Gateway's default gateway responses. Not emulated: Lambda/Cognito
authorizers, other integrations, resource policies of the API, gateway response overrides,
VTL, throttling, deployment snapshots (a stage serves moto's live resource tree).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import fnmatch
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import jsonschema
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from moto.apigateway.models import apigateway_backends
from moto.awslambda.utils import get_backend as lambda_backend
from moto.iam.access_control import CreateAccessKeyFailure, IAMPolicy, create_access_key
from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import is_hop_by_hop_header
from werkzeug.wsgi import get_input_stream

from scripts.tapctl.emulator_lambda import Throttled, executor

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Route = tuple[Any, dict[str, str]]  # a moto Resource and the path parameters
log = logging.getLogger("tap.emulator")

HOST_RE = re.compile(r"^([a-z0-9_-]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?::\d+)?$")
USER_REQUEST_RE = re.compile(r"^/restapis/([^/]+)/([^/]+)/_user_request_/?(.*)$")
LAMBDA_URI_RE = re.compile(r":lambda:path/2015-03-31/functions/(.+)/invocations$")
PROXY_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
IDENTITY_KEYS = (  # noqa: SIM905 - a word list, not data
    "cognitoIdentityPoolId cognitoIdentityId cognitoAuthenticationType cognitoAuthenticationProvider "
    "principalOrgId accountId caller user userArn accessKey apiKey apiKeyId"
).split()
DEFAULT_TIMEOUT_MS = 29_000
MAX_CLOCK_SKEW = 15 * 60
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


# -- routing ------------------------------------------------------------------------------------


def route_path(api: Any, path: str) -> Route | None:
    """The resource ``path`` selects (literal, then ``{param}``, then ``{proxy+}``) and its parameters."""
    children: dict[str | None, list[Any]] = {}
    for resource in list(api.resources.values()):
        children.setdefault(resource.parent_id, []).append(resource)
    parts = [p for p in path.split("/") if p]
    return _walk(children, api.resources[api.root_resource_id], parts, {})


def _rank(resource: Any) -> int:
    part = resource.path_part
    return 2 if part.endswith("+}") else 1 if part.startswith("{") else 0


def _walk(
    children: dict[Any, list[Any]], node: Any, parts: list[str], params: dict[str, str]
) -> Route | None:
    if not parts:
        return node, params
    for child in sorted(children.get(node.id, []), key=_rank):
        part = child.path_part
        if part.endswith("+}"):
            return child, {**params, part[1:-2]: "/".join(parts)}
        if part.startswith("{") or part == parts[0]:
            bound = {part[1:-1]: parts[0]} if part.startswith("{") else {}
            if found := _walk(children, child, parts[1:], {**params, **bound}):
                return found
    return None


# -- IAM ----------------------------------------------------------------------------------------


def authorize(call: Call, method: Any) -> None:
    kind = (method.authorization_type or "NONE").upper()
    if kind == "NONE":
        return
    if kind != "AWS_IAM":
        raise GatewayError("internal", f"The emulator does not run {kind} authorizers.")
    fields = _authorization_fields(call)
    key_id, _, region, service, *_ = [*fields["Credential"].split("/"), "", "", "", ""]
    if (service, region) != ("execute-api", call.region):
        raise GatewayError("signature", f"Credential should be scoped to '{call.region}', 'execute-api'.")
    access = _access_key(key_id, call.headers.get("X-Amz-Security-Token"), region)
    verify_signature(call, fields, access.create_credentials())
    resource = call.arn(call.method, call.path)
    verdict = evaluate(access.collect_policies(), "execute-api:Invoke", resource)
    if not verdict:
        deny = " with an explicit deny" if verdict is False else ""
        who = f"User: {access.arn} is not authorized to perform: execute-api:Invoke"
        raise GatewayError("denied", f"{who} on resource: {resource}{deny}", key="Message")
    sts = sts_backends[access.account_id][access.partition]
    user_id, user_arn, account = sts.get_caller_identity(key_id, region)
    call.identity.update(caller=user_id, user=user_id, userArn=user_arn, accountId=account, accessKey=key_id)


def _authorization_fields(call: Call) -> dict[str, str]:
    header = call.headers.get("Authorization")
    if not header:
        raise GatewayError("token")
    scheme, _, rest = header.partition(" ")
    fields = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
    required = {"Credential", "SignedHeaders", "Signature"}
    if scheme != "AWS4-HMAC-SHA256" or not required <= fields.keys() or not call.headers.get("X-Amz-Date"):
        raise GatewayError("incomplete", f"{GATEWAY['incomplete'][2]} Authorization={header}")
    return fields


def _access_key(key_id: str, token: str | None, region: str) -> Any:
    """moto's view of an IAM user's or an assumed role's key: secret, ARN, identity policies."""
    partition, account = get_partition(region), get_account_id_from(key_id)
    key = iam_backends[account][partition].access_keys.get(key_id)
    if key is None or key.status != "Active":
        raise GatewayError("client")
    try:
        return create_access_key(account, partition, key_id, {"X-Amz-Security-Token": token} if token else {})
    except CreateAccessKeyFailure:
        raise GatewayError("client") from None


def verify_signature(call: Call, fields: dict[str, str], credentials: Any) -> None:
    """Recompute the SigV4 signature over the request as received (its Host, path, query, body)."""
    stamp = call.headers.get("X-Amz-Date", "")
    headers = {name: call.headers.get(name, "") for name in fields["SignedHeaders"].split(";")}
    request = AWSRequest(call.method, f"https://{call.host}{call.raw_uri}", headers, call.body)
    request.context["timestamp"] = stamp
    auth = SigV4Auth(credentials, "execute-api", call.region)
    canonical = auth.canonical_request(request)
    to_sign = auth.string_to_sign(request, canonical)
    if not hmac.compare_digest(auth.signature(to_sign, request), fields["Signature"]):
        expected = f"The Canonical String for this request should have been\n'{canonical}'\n\n"
        expected += f"The String-to-Sign should have been\n'{to_sign}'\n"
        raise GatewayError("signature", f"{MISMATCH}\n\n{expected}")
    signed = (
        calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ")) if re.fullmatch(r"\d{8}T\d{6}Z", stamp) else 0
    )
    if abs(time.time() - signed) > MAX_CLOCK_SKEW:
        raise GatewayError("signature", f"Signature expired: {stamp} is more than 15 minutes from now.")


def evaluate(policies: Iterable[Any], action: str, resource: str) -> bool | None:
    """Identity-policy verdict: True allowed, False explicitly denied, None not allowed.

    Action/NotAction (case-insensitive), Resource/NotResource, ``*``/``?`` wildcards; conditions
    are not evaluated (the statement applies), as moto ignores operators it does not know. moto's
    ``IAMPolicy`` reads the documents; its matcher is not reused (it takes NotResource for Allow).
    """
    effects: set[str] = set()
    for policy in policies:
        statements = IAMPolicy(policy)._policy_json.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if _applies(statement, action, resource):
                effects.add(statement.get("Effect", ""))
    return False if "Deny" in effects else True if "Allow" in effects else None


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "NotAction" in statement:
        hit = not matches(statement["NotAction"], action, fold=True)
    else:
        hit = matches(statement.get("Action", []), action, fold=True)
    if "NotResource" in statement:
        return hit and not matches(statement["NotResource"], resource)
    return hit and matches(statement.get("Resource", []), resource)


def matches(patterns: str | list[str], value: str, *, fold: bool = False) -> bool:
    """IAM wildcard match (``*`` any run, ``?`` one character)."""
    flags = re.DOTALL | (re.IGNORECASE if fold else 0)
    patterns = [patterns] if isinstance(patterns, str) else patterns
    regexes = [re.escape(p).replace(r"\*", ".*").replace(r"\?", ".") for p in patterns]
    return any(re.fullmatch(regex, value, flags) for regex in regexes)


# -- API key, request validation ----------------------------------------------------------------


def check_api_key(call: Call) -> None:
    """``x-api-key`` must be an enabled key in a usage plan that includes this API's stage."""
    backend = apigateway_backends[call.account][call.region]
    value = call.headers.get("x-api-key")
    key = next((k for k in list(backend.keys.values()) if value and k.value == value), None)
    if key is None or not _truthy(key.enabled):
        raise GatewayError("forbidden")
    for plan in list(backend.usage_plans.values()):
        stages = [(s.get("apiId"), s.get("stage")) for s in plan.api_stages]
        if key.id in backend.usage_plan_keys.get(plan.id, {}) and (call.api.id, call.stage_name) in stages:
            call.identity.update(apiKey=key.value, apiKeyId=key.id)
            return
    raise GatewayError("forbidden")


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def validate(call: Call, method: Any) -> None:
    validator = call.api.request_validators.get(method.request_validator_id or "")
    if validator is not None and _truthy(validator.validate_request_parameters):
        required = [n for n, on in (method.request_parameters or {}).items() if _truthy(on)]
        missing = [n.rsplit(".", 1)[-1] for n in required if not _has_parameter(call, n)]
        if missing:
            raise GatewayError("bad_request", f"Missing required request parameters: [{', '.join(missing)}]")
    if validator is not None and _truthy(validator.validate_request_body):
        schema = _body_schema(call, method)
        if schema is not None and not _valid_json(call.body, schema):
            raise GatewayError("bad_request", "Invalid request body")


def _has_parameter(call: Call, name: str) -> bool:
    where, _, key = name.removeprefix("method.request.").partition(".")
    if where in ("querystring", "multivaluequerystring"):
        return any(k == key for k, _ in call.query)
    if where in ("header", "multivalueheader"):
        return call.headers.get(key) is not None
    return where == "path" and key in call.params


def _body_schema(call: Call, method: Any) -> Any:
    content_type = (call.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
    models = method.request_models or {}
    model = call.api.models.get(models.get(content_type) or models.get("$default") or "")
    return json.loads(model.schema) if model is not None and model.schema else None


def _valid_json(body: bytes, schema: Any) -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return bool(jsonschema.Draft4Validator(schema).is_valid(document))


# -- integrations -------------------------------------------------------------------------------


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
