"""The embedded AWS answers API Gateway invoke URLs: a real emulator server (loopback,
started and stopped here), a REST API built and deployed through boto3, and requests
sent to its stage as a client sends them to AWS (SigV4-signed with ``execute-api``).

Covers routing (literal, ``{param}``, unknown path/stage), IAM authorization (unsigned,
allowed user, user without policy, explicit deny, bad signature, assumed role), API
keys in usage plans, the request validator (parameters, JSON Schema body), Lambda
proxy integrations (event, response mapping, function errors, malformed responses,
the function's resource policy), MOCK preflights, and both addressing forms.
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from scripts.tapctl.emulator import apigateway
from tests.integration.http_api import Response
from tests.unit.emulator_harness import package, running_emulator

ACCOUNT = "310987654321"
REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/fn-role"

HANDLERS = {
    "app.py": """
        import base64, json

        def echo(event, context):
            return {"statusCode": 201, "headers": {"X-Echo": "yes"},
                    "multiValueHeaders": {"X-Multi": ["a", "b"]}, "body": json.dumps(event)}

        def boom(event, context):
            raise RuntimeError("broken")

        def malformed(event, context):
            return {"status": 200, "body": {"not": "a string"}}

        def binary(event, context):
            return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                    "body": base64.b64encode(b"\\x89PNG").decode(), "isBase64Encoded": True}
    """
}


@dataclass
class Api:
    id: str
    port: int
    key: str
    key_id: str
    allowed: Credentials
    stranger: Credentials
    denied: Credentials
    role: Credentials

    @property
    def host(self) -> str:
        return f"{self.id}.execute-api.{REGION}.amazonaws.com"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Callable[[str], Any], int]]:
    with running_emulator(tmp_path_factory.mktemp("emulator"), ACCOUNT, REGION) as emulated:
        yield emulated.client, emulated.port


def _user(iam: Any, name: str, policy: dict[str, Any] | None) -> Credentials:
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="invoke", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _function(aws: Callable[[str], Any], handler: str, api_id: str | None) -> str:
    name = f"{handler}-{uuid.uuid4().hex[:6]}"
    arn = aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler=f"app.{handler}",
        Code={"ZipFile": package(HANDLERS)},
        Timeout=10,
    )["FunctionArn"]
    if api_id:  # what aws_lambda_permission does for each route
        aws("lambda").add_permission(
            FunctionName=name,
            StatementId="apigateway",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*/*",
        )
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


@pytest.fixture(scope="module")
def api(aws) -> Api:
    client, port = aws
    iam, gw = client("iam"), client("apigateway")
    iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")
    api_id = gw.create_rest_api(name="items", binaryMediaTypes=["image/png"])["id"]
    root = next(r["id"] for r in gw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")

    def resource(parent: str, part: str) -> str:
        return gw.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]

    def route(res: str, method: str, uri: str, **extra: Any) -> None:
        gw.put_method(
            restApiId=api_id, resourceId=res, httpMethod=method, **{"authorizationType": "NONE", **extra}
        )
        gw.put_integration(
            restApiId=api_id,
            resourceId=res,
            httpMethod=method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=uri,
        )

    echo = _function(client, "echo", api_id)
    items = resource(root, "items")
    item = resource(items, "{id}")
    upload = resource(root, "upload")
    route(items, "POST", echo, authorizationType="AWS_IAM")
    route(item, "GET", echo, apiKeyRequired=True)
    gw.create_model(
        restApiId=api_id,
        name="Upload",
        contentType="application/json",
        schema=json.dumps(
            {
                "$schema": "http://json-schema.org/draft-04/schema#",
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "minLength": 1}},
            }
        ),
    )
    validator = gw.create_request_validator(
        restApiId=api_id, name="all", validateRequestBody=True, validateRequestParameters=True
    )["id"]
    route(
        upload,
        "POST",
        echo,
        apiKeyRequired=True,
        requestValidatorId=validator,
        requestModels={"application/json": "Upload"},
        requestParameters={"method.request.querystring.tag": True},
    )
    gw.put_method(restApiId=api_id, resourceId=upload, httpMethod="OPTIONS", authorizationType="NONE")
    gw.put_integration(
        restApiId=api_id,
        resourceId=upload,
        httpMethod="OPTIONS",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    gw.put_integration_response(
        restApiId=api_id,
        resourceId=upload,
        httpMethod="OPTIONS",
        statusCode="200",
        responseParameters={
            "method.response.header.Access-Control-Allow-Origin": "'*'",
            "method.response.header.Access-Control-Allow-Methods": "'POST,OPTIONS'",
        },
    )
    for path, handler, with_permission in [
        ("boom", "boom", True),
        ("malformed", "malformed", True),
        ("binary", "binary", True),
        ("unpermitted", "echo", False),
    ]:
        route(resource(root, path), "ANY", _function(client, handler, api_id if with_permission else None))
    gw.put_method(
        restApiId=api_id, resourceId=resource(root, "http"), httpMethod="GET", authorizationType="NONE"
    )
    gw.create_deployment(restApiId=api_id, stageName="v1")

    key = gw.create_api_key(name="client", enabled=True)
    plan = gw.create_usage_plan(name="plan", apiStages=[{"apiId": api_id, "stage": "v1"}])["id"]
    gw.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
    gw.create_api_key(name="unplanned", enabled=True, value="unplanned-key-value-0123456789")

    items_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/v1/POST/items"
    allow = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": f"arn:aws:execute-api:{REGION}:*:{api_id}/*/POST/*",
            }
        ],
    }
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": items_arn},
        ],
    }
    iam.create_role(RoleName="caller-role", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName="caller-role", PolicyName="invoke", PolicyDocument=json.dumps(allow))
    assumed = client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/caller-role", RoleSessionName="tester"
    )["Credentials"]
    return Api(
        id=api_id,
        port=port,
        key=key["value"],
        key_id=key["id"],
        allowed=_user(iam, "caller", allow),
        stranger=_user(iam, "stranger", None),
        denied=_user(iam, "denied", deny),
        role=Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"]),
    )


def send(
    api: Api,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    sign: Credentials | None = None,
    user_request: bool = False,
) -> Response:
    """``path`` on stage ``v1``, by Host header or by the ``_user_request_`` path; signed if asked."""
    host, target = api.host, f"/v1{path}"
    if user_request:
        host, target = f"127.0.0.1:{api.port}", f"/restapis/{api.id}/v1/_user_request_{path}"
    request = AWSRequest(
        method=method, url=f"https://{host}{target}", data=body, headers={"Host": host, **(headers or {})}
    )
    if sign is not None:
        SigV4Auth(sign, "execute-api", REGION).add_auth(request)
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
    try:
        conn.request(method, target, body=body, headers=dict(request.headers.items()))
        answer = conn.getresponse()
        headers = {k.lower(): ", ".join(answer.msg.get_all(k) or []) for k in set(answer.msg.keys())}
        return Response(answer.status, headers, answer.read())
    finally:
        conn.close()


def _event(response: Response) -> dict[str, Any]:
    assert response.status == 201, response.body
    return json.loads(response.body)


def test_unknown_paths_methods_and_stages_are_missing_authentication_token(api):
    for method, path in [("GET", "/nothing"), ("DELETE", "/items"), ("GET", "/items/1/deeper"), ("GET", "/")]:
        response = send(api, method, path)
        assert (response.status, response.json()) == (403, {"message": "Missing Authentication Token"}), path
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-amzn-requestid"]
    assert send(api, "GET", "/items").status == 403  # the resource has POST only
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    try:
        conn.request("GET", "/v2/items/1", headers={"Host": api.host})  # no stage v2
        assert conn.getresponse().status == 403
    finally:
        conn.close()


def test_iam_unsigned_is_rejected_and_an_allowed_user_reaches_the_function(api):
    unsigned = send(api, "POST", "/items", body=b"{}")
    assert (unsigned.status, unsigned.json()) == (403, {"message": "Missing Authentication Token"})
    json_body = {"Content-Type": "application/json"}
    query = "/items?page=2&tag=a&tag=b"
    response = send(api, "POST", query, body=b'{"n": 1}', headers=json_body, sign=api.allowed)
    event = _event(response)
    assert (response.headers["x-echo"], response.headers["x-multi"]) == ("yes", "a, b")
    assert response.headers["content-type"] == "application/json"
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/items", "/items", "POST")
    assert (event["body"], event["isBase64Encoded"]) == ('{"n": 1}', False)
    assert event["queryStringParameters"] == {"page": "2", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"page": ["2"], "tag": ["a", "b"]}
    assert (event["headers"]["Host"], event["pathParameters"]) == (api.host, None)
    context = event["requestContext"]
    assert [context[k] for k in ("accountId", "apiId", "stage", "path")] == [
        ACCOUNT,
        api.id,
        "v1",
        "/v1/items",
    ]
    assert context["requestId"] == response.headers["x-amzn-requestid"]
    identity = context["identity"]
    assert identity["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/caller"
    assert (identity["accountId"], identity["accessKey"]) == (ACCOUNT, api.allowed.access_key)
    assert identity["caller"] == identity["user"] != api.allowed.access_key
    assert identity["sourceIp"] == "127.0.0.1"


def test_iam_refuses_users_without_permission_and_bad_signatures(api):
    resource = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.id}/v1/POST/items"
    stranger = send(api, "POST", "/items", body=b"{}", sign=api.stranger)
    user = f"arn:aws:iam::{ACCOUNT}:user/stranger"
    message = f"User: {user} is not authorized to perform: execute-api:Invoke on resource: {resource}"
    assert (stranger.status, stranger.json()) == (403, {"Message": message})
    denied = send(api, "POST", "/items", body=b"{}", sign=api.denied)
    assert denied.status == 403
    assert denied.json()["Message"].endswith(f"on resource: {resource} with an explicit deny")
    wrong_secret = Credentials(api.allowed.access_key, "not-the-secret-key-0000000000000000000000")
    forged = send(api, "POST", "/items", body=b"{}", sign=wrong_secret)
    assert forged.status == 403
    assert forged.json()["message"].startswith("The request signature we calculated does not match")
    unknown = send(api, "POST", "/items", body=b"{}", sign=Credentials("AKIAUNKNOWN000000000", "x" * 40))
    assert unknown.status == 403
    assert unknown.json() == {"message": "The security token included in the request is invalid."}


def test_a_signature_covers_the_body_and_the_host(api):
    request = AWSRequest(
        method="POST", url=f"https://{api.host}/v1/items", data=b"{}", headers={"Host": api.host}
    )
    SigV4Auth(api.allowed, "execute-api", REGION).add_auth(request)
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
    try:
        conn.request("POST", "/v1/items", body=b'{"changed": 1}', headers=dict(request.headers.items()))
        assert conn.getresponse().status == 403  # body differs from what was signed
    finally:
        conn.close()
    assert _event(send(api, "POST", "/items", body=b"{}", sign=api.allowed, user_request=True))


def test_iam_assumed_role_credentials_are_verified_and_authorized(api):
    event = _event(send(api, "POST", "/items", body=b"{}", sign=api.role))
    user_arn = event["requestContext"]["identity"]["userArn"]
    assert user_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/caller-role/tester"
    forged_token = Credentials(api.role.access_key, api.role.secret_key, "not-the-session-token")
    assert send(api, "POST", "/items", body=b"{}", sign=forged_token).status == 403


def test_api_key_is_required_and_must_be_in_a_usage_plan_of_the_stage(api):
    for headers in [{}, {"x-api-key": "wrong"}, {"x-api-key": "unplanned-key-value-0123456789"}]:
        response = send(api, "GET", "/items/abc", headers=headers)
        assert (response.status, response.json()) == (403, {"message": "Forbidden"}), headers
    event = _event(send(api, "GET", "/items/abc%20d", headers={"x-api-key": api.key}))
    assert (event["pathParameters"], event["resource"]) == ({"id": "abc d"}, "/items/{id}")
    identity = event["requestContext"]["identity"]
    assert (identity["apiKey"], identity["apiKeyId"]) == (api.key, api.key_id)


def test_request_validator_checks_parameters_and_the_body_model(api):
    key = {"x-api-key": api.key, "Content-Type": "application/json"}
    missing = send(api, "POST", "/upload", body=b'{"name": "a"}', headers=key)
    assert (missing.status, missing.json()) == (
        400,
        {"message": "Missing required request parameters: [tag]"},
    )
    for bad in [b'{"other": 1}', b'{"name": ""}', b"not json", b""]:
        response = send(api, "POST", "/upload?tag=x", body=bad, headers=key)
        assert (response.status, response.json()) == (400, {"message": "Invalid request body"}), bad
    keyless = send(api, "POST", "/upload?tag=x", body=b"{}", headers={"Content-Type": "application/json"})
    assert keyless.status == 403  # the API key is checked before the request
    event = _event(send(api, "POST", "/upload?tag=x", body=b'{"name": "a"}', headers=key))
    assert json.loads(event["body"]) == {"name": "a"}


def test_function_errors_and_malformed_responses_are_502_and_binary_bodies_pass(api):
    for path in ["/boom", "/malformed"]:
        response = send(api, "PUT", path, body=b"{}")
        assert (response.status, response.json()) == (502, {"message": "Internal server error"}), path
    png = send(api, "GET", "/binary")
    assert (png.status, png.headers["content-type"], png.body) == (200, "image/png", b"\x89PNG")


def test_a_function_without_a_permission_for_api_gateway_is_500(api):
    response = send(api, "GET", "/unpermitted")
    assert (response.status, response.json()) == (500, {"message": "Internal server error"})


def test_mock_preflight_and_unsupported_integrations(api):
    preflight = send(api, "OPTIONS", "/upload")
    assert preflight.status == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-methods"] == "POST,OPTIONS"
    none = send(api, "GET", "/http")
    assert none.status == 500
    assert "does not run" in none.json()["message"]


def test_the_user_request_path_form_is_the_same_api(api):
    event = _event(send(api, "POST", "/items", body=b"{}", sign=api.allowed, user_request=True))
    assert (event["path"], event["requestContext"]["stage"]) == ("/items", "v1")
    event = _event(send(api, "GET", "/items/42", headers={"x-api-key": api.key}, user_request=True))
    assert event["pathParameters"] == {"id": "42"}
    assert send(api, "GET", "/nothing", user_request=True).status == 403
    assert send(api, "POST", "/items", body=b"{}", user_request=True).status == 403


def test_other_requests_still_reach_moto(aws, api):
    client, _ = aws
    assert client("apigateway").get_rest_api(restApiId=api.id)["name"] == "items"
    assert client("apigateway").get_stage(restApiId=api.id, stageName="v1")["stageName"] == "v1"


# -- the pure parts, without a server ---------------------------------------------------------------


def _tree(*paths: str) -> SimpleNamespace:
    """A stand-in REST API whose resources are ``paths`` (parents created on the way)."""
    resources = {"/": SimpleNamespace(id="/", parent_id=None, path_part="/")}
    for path in paths:
        parent = "/"
        for part in path.strip("/").split("/"):
            node = parent.rstrip("/") + "/" + part
            resources.setdefault(node, SimpleNamespace(id=node, parent_id=parent, path_part=part))
            parent = node
    return SimpleNamespace(resources=resources, root_resource_id="/")


@pytest.mark.parametrize(
    ("path", "resource", "params"),
    [
        ("/items", "/items", {}),
        ("/items/special", "/items/special", {}),
        ("/items/7", "/items/{id}", {"id": "7"}),
        ("/a/b/c", "/a/{x}/c", {"x": "b"}),  # the literal b has no c: back to {x}
        ("/a/b/d", "/a/b/d", {}),
        ("/other/deep/path", "/{proxy+}", {"proxy": "other/deep/path"}),
        ("/items/7/more", "/{proxy+}", {"proxy": "items/7/more"}),
        ("/", "/", {}),
    ],
)
def test_routing_prefers_literals_then_parameters_then_greedy(path, resource, params):
    api = _tree("/items/{id}", "/items/special", "/a/{x}/c", "/a/b/d", "/{proxy+}")
    found = apigateway.route_path(api, path)
    assert found is not None
    assert (found[0].id, found[1]) == (resource, params)
    assert apigateway.route_path(_tree("/items"), "/nothing") is None


def test_policy_evaluation_wildcards_not_elements_and_explicit_deny():
    evaluate = apigateway.evaluate
    arn = "arn:aws:execute-api:eu-west-1:1:api/v1/GET/items/7"

    def policy(*statements: dict[str, Any]) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})

    allow = {
        "Effect": "Allow",
        "Action": "execute-api:invoke",
        "Resource": "arn:aws:execute-api:*:1:api/*/GET/*",
    }
    assert evaluate([policy(allow)], "execute-api:Invoke", arn) is True  # actions are case-insensitive
    assert evaluate([policy({**allow, "Resource": "arn:*/v?/POST/*"})], "execute-api:Invoke", arn) is None
    assert evaluate([policy({**allow, "Resource": "arn:*/v?/GET/*"})], "execute-api:Invoke", arn) is True
    not_resource = {"Effect": "Allow", "Action": "*", "NotResource": "arn:*/GET/*"}
    assert evaluate([policy(not_resource)], "execute-api:Invoke", arn) is None
    not_action = {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}
    assert evaluate([policy(allow), policy(not_action)], "execute-api:Invoke", arn) is False
    assert evaluate([], "execute-api:Invoke", arn) is None


def test_lambda_permissions_match_the_source_arn_like_aws_lambda_permission():
    def fn(*statements: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(policy=SimpleNamespace(statements=list(statements)))

    statement = {
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:eu-west-1:1:api/*/GET/items/*"}},
    }
    sources = {"arn:aws:execute-api:eu-west-1:1:api/v1/GET/items/{id}"}
    allows = apigateway.lambda_allows
    assert allows(fn(statement), sources, "1")
    assert not allows(fn(statement), {"arn:aws:execute-api:eu-west-1:1:api/v1/POST/items/{id}"}, "1")
    assert not allows(fn({**statement, "Principal": {"Service": "events.amazonaws.com"}}), sources, "1")
    owned = {**statement, "Condition": {"StringEquals": {"AWS:SourceAccount": "2"}}}
    assert not allows(fn(owned), sources, "1")
    assert not allows(fn(), sources, "1")


@pytest.mark.parametrize(
    "payload",
    [
        b"null",
        b"[]",
        b'{"statusCode": 200, "extra": 1}',
        b'{"body": "x"}',
        b'{"statusCode": 200, "body": {}}',
        b'{"statusCode": 200, "body": "%%", "isBase64Encoded": true}',
        b"not json",
    ],
)
def test_malformed_proxy_responses_are_bad_gateway(payload):
    with pytest.raises(apigateway.GatewayError) as caught:
        apigateway.proxy_reply(payload)
    assert (caught.value.status, caught.value.message) == (502, "Internal server error")


def test_proxy_response_headers_merge_as_api_gateway_merges_them():
    doc = {"statusCode": "204", "headers": {"A": "1", "B": "2"}, "multiValueHeaders": {"b": ["3", "4"]}}
    reply = apigateway.proxy_reply(json.dumps(doc).encode())
    assert reply.status == 204
    assert reply.headers == [("A", "1"), ("b", "3"), ("b", "4"), ("Content-Type", "application/json")]
    assert reply.body == b""
