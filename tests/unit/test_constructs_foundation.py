"""The shared openings of the serverless stacks: SystemFoundation, StateMachine and the
request checks and usage plans of a RestApi (lib.constructs.api_clients). Each creates
its resources in the scope it is given, under the caller's ids, so the stacks keep
their Terraform addresses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.conftest import only, resources
from tests.unit.construct_harness import NAMER, synth_stack


def test_foundation_creates_key_topic_and_dlq_in_the_given_scope() -> None:
    from lib.constructs.foundation import FoundationSpec, SystemFoundation

    built: dict[str, Any] = {}

    def build(stack: Any) -> None:
        spec = FoundationSpec(service="abc", key_description="abc data ({name}, {suffix})", dlq="failed")
        built["with"] = SystemFoundation(stack, spec, namer=NAMER, destroyable=False)

    stack = synth_stack(build)
    assert "key_F64E54E4" in resources(stack, "aws_kms_key")  # "key", directly under the stack
    assert list(resources(stack, "aws_sns_topic")) == ["alerts"]
    assert only(stack, "aws_sns_topic")["name"] == "dev-use1-abc-alerts-dev"
    (dlq_id, dlq) = next(iter(resources(stack, "aws_sqs_queue").items()))
    assert (dlq_id, dlq["name"], dlq["message_retention_seconds"]) == (
        "dlq",
        "dev-use1-abc-failed-dev",
        14 * 86400,
    )
    key = only(stack, "aws_kms_key")
    assert (key["description"], key["deletion_window_in_days"]) == ("abc data (dev-use1-abc-dev, dev)", 7)
    policy = json.loads(key["policy"])
    assert {s["Principal"].get("Service") for s in policy["Statement"]} >= {"cloudwatch.amazonaws.com"}
    assert built["with"].key_use.actions == ("kms:Decrypt", "kms:GenerateDataKey")


def test_foundation_without_a_dead_letter_queue_says_so() -> None:
    from lib.constructs.foundation import FoundationSpec, SystemFoundation

    def build(stack: Any) -> None:
        spec = FoundationSpec(service="abc", key_description="abc data", dlq=None)
        foundation = SystemFoundation(stack, spec, namer=NAMER, destroyable=True)
        with pytest.raises(ValueError, match="no dead-letter queue"):
            _ = foundation.dlq

    assert not resources(synth_stack(build), "aws_sqs_queue")


@pytest.mark.parametrize("wait", [False, True])
def test_state_machine_role_logs_and_tracing(wait: bool) -> None:
    from lib.constructs.iam import Grant
    from lib.constructs.state_machine import StateMachine, StateMachineProps

    def build(stack: Any) -> None:
        props = StateMachineProps(
            service=NAMER.for_service("abc-flow"),
            definition='{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}',
            grants=[Grant(actions=["sns:Publish"], resources=["arn:aws:sns:us-east-1:111111111111:t"])],
            role_description="abc",
            kms_key_arn="arn:aws:kms:us-east-1:111111111111:key/k",
            log_retention_days=7,
            type_="EXPRESS",
            wait_for_role_policy=wait,
        )
        StateMachine(stack, "flow", props)

    stack = synth_stack(build)
    machine = resources(stack, "aws_sfn_state_machine")["flow"]
    assert machine["type"] == "EXPRESS"
    assert machine["tracing_configuration"]["enabled"] is True
    assert ("depends_on" in machine) is wait
    assert resources(stack, "aws_cloudwatch_log_group")["flow-logs"]["name"] == (
        "/aws/vendedlogs/states/dev-use1-abc-flow-dev"
    )
    policy = json.loads(only(stack, "aws_iam_role_policy")["policy"])
    actions = [s["Action"] for s in policy["Statement"]]
    assert actions[0] == ["sns:Publish"]  # the caller's grants first,
    assert "logs:CreateLogDelivery" in actions[1]  # then log delivery and X-Ray
    assert "xray:PutTraceSegments" in actions[2]


def _api(stack: Any) -> Any:
    from lib.constructs.rest_api import RestApi, Throttle

    return RestApi(
        stack,
        "api",
        name="abc-api",
        description="d",
        stage_name="v1",
        throttle=Throttle(rate_limit=5, burst_limit=10),
    )


def test_rest_api_validators_models_and_usage_plans_live_beside_the_api() -> None:
    from lib.constructs.api_clients import UsagePlanProps, json_model, request_validator, usage_plan

    def build(stack: Any) -> None:
        api = _api(stack)
        check = request_validator(api, "check", name="body", body=True)
        model = json_model(api, "body-model", name="Body", description="d", schema={"type": "object"})
        api.lambda_route(
            "/x",
            "POST",
            function_name="f",
            invoke_arn="arn:aws:apigateway:us-east-1:lambda:path/f",
            authorization="AWS_IAM",
            request_validator_id=check.id,
            request_models={"application/json": model.name},
        )
        access = api.access_log_group("access", retention_days=7, kms_key_arn="arn:aws:kms:us-east-1:1:key/k")
        api.deploy(access_log=access)
        usage_plan(
            api,
            UsagePlanProps(
                name="clients", description="d", key_name="k", daily_quota=50, id_="plan", key_id="key"
            ),
        )

    stack = synth_stack(build)
    assert list(resources(stack, "aws_api_gateway_request_validator")) == ["check"]
    assert resources(stack, "aws_api_gateway_model")["body-model"]["schema"] == '{"type":"object"}'
    assert resources(stack, "aws_cloudwatch_log_group")["access"]["name"] == "/aws/apigateway/abc-api"
    plan = resources(stack, "aws_api_gateway_usage_plan")["plan"]
    assert plan["throttle_settings"] == {"burst_limit": 10, "rate_limit": 5}  # the stage's throttle
    assert plan["quota_settings"] == {"limit": 50, "period": "DAY"}
    assert list(resources(stack, "aws_api_gateway_api_key")) == ["key"]
    assert list(resources(stack, "aws_api_gateway_usage_plan_key")) == ["usage-plan-key"]


def test_rest_api_usage_plan_needs_a_deployed_stage() -> None:
    from lib.constructs.api_clients import UsagePlanProps, usage_plan
    from lib.constructs.rest_api import RestApiError

    def build(stack: Any) -> None:
        with pytest.raises(RestApiError, match="deploy\\(\\) the API before adding a usage plan"):
            usage_plan(_api(stack), UsagePlanProps(name="c", description="d", key_name="k"))

    synth_stack(build)
