"""API keys and request validators of invoke-URL requests in the emulator, checked as API Gateway checks them.

:func:`check_api_key` requires, for a method with ``apiKeyRequired``, an ``x-api-key`` that is an
enabled key in a usage plan including the API's stage (recorded as the caller's ``apiKey``).
:func:`validate` applies the method's request validator: required query string, header and path
parameters must be present, and with body validation the body must be JSON valid against the
model (JSON Schema draft 4) mapped to its content type; a failure is API Gateway's
``BadRequestException``.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from moto.apigateway.models import apigateway_backends

from scripts.tapctl.emulator.apigateway_model import Call, GatewayError


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
