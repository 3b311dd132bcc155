"""Every API method that reaches a backend validates its request (checkov's CKV2_AWS_53, minus preflights).

checkov cannot skip one check for one resource in synthesized JSON, so
``.checkov.yaml`` skips CKV2_AWS_53 and this test holds the rule instead:
only CORS preflights (``OPTIONS``, answered by API Gateway's MOCK
integration; browsers send them without credentials or body) go unvalidated.
"""

from __future__ import annotations

import pytest

from tests.unit.conftest import resources


@pytest.mark.parametrize("env", ["dev", "prod", "pr"])
def test_every_backend_method_has_a_request_validator(synth, env):
    methods = 0
    for stack_name, stack in synth(env).items():
        integrations = {
            (i["resource_id"], i["http_method"]): i["type"]
            for i in resources(stack, "aws_api_gateway_integration").values()
        }
        for name, method in resources(stack, "aws_api_gateway_method").items():
            if method["http_method"] == "OPTIONS":
                key = (method["resource_id"], f"${{aws_api_gateway_method.{name}.http_method}}")
                assert integrations.get(key) == "MOCK", f"{stack_name}: OPTIONS {name} must be a preflight"
                continue
            methods += 1
            assert method.get("request_validator_id"), f"{env}/{stack_name}: {name} has no request validator"
    assert methods >= 6, f"expected the IoT, transaction and file APIs' methods, found {methods}"
