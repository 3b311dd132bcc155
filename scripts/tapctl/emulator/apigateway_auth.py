"""IAM authorization of invoke-URL requests in the emulator: SigV4 verification and identity policies.

:func:`authorize` applies a method's ``AWS_IAM`` authorization as API Gateway does: the
``Authorization`` header must be complete and scoped to ``execute-api`` in the API's region, the
access key (an IAM user's or an assumed role's, with its session token) must be active, the
signature recomputed over the request as received (Host, path, query, body) must match, the
signing time must be within 15 minutes, and the caller's identity policies must allow
``execute-api:Invoke`` on the method's ARN (:func:`evaluate`, wildcards by :func:`matches`); the
caller's identity is then recorded for the Lambda proxy event. Other authorizer types are an
internal error: the emulator does not run them.
"""

from __future__ import annotations

import calendar
import hmac
import re
import time
from collections.abc import Iterable
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from moto.iam.access_control import CreateAccessKeyFailure, IAMPolicy, create_access_key
from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

from scripts.tapctl.emulator.apigateway_model import GATEWAY, MISMATCH, Call, GatewayError

MAX_CLOCK_SKEW = 15 * 60


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
