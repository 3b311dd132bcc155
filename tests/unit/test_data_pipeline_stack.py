"""The data pipeline stack's synthesized JSON holds the seed's requirements."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from lib.config.settings.data_pipeline import DataPipelineSettings
from lib.stacks.data_workflow import RETRYABLE_ERRORS, STEPS, workflow_definition
from tests.unit.conftest import SynthFn, only, resources

STATE_ORDER = ["Ingest", "Validate", "Transform", "Load"]


@pytest.fixture(scope="module")
def pr(synth: SynthFn) -> dict[str, Any]:
    return synth("pr")["data_pipeline"]


def _by(stack: dict[str, Any], rtype: str, key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in resources(stack, rtype).values()}


def _policies(stack: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        p["//"]["metadata"]["path"].split("/")[1]: json.loads(p["policy"])["Statement"]
        for p in resources(stack, "aws_iam_role_policy").values()
    }


def test_deploys_to_us_east_2(pr: dict[str, Any]) -> None:
    assert pr["provider"]["aws"][0]["region"] == "us-east-2"
    assert only(pr, "aws_sfn_state_machine")["name"] == "pr-use2-dpl-workflow-pr7"


def test_raw_bucket_archives_to_glacier_after_90_days_encrypted_and_private(pr: dict[str, Any]) -> None:
    rules = {r["id"]: r for r in only(pr, "aws_s3_bucket_lifecycle_configuration")["rule"]}
    assert rules["archive-to-glacier"]["transition"] == [{"days": 90, "storage_class": "GLACIER"}]
    assert rules["archive-to-glacier"]["status"] == "Enabled"
    sse = only(pr, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    block = only(pr, "aws_s3_bucket_public_access_block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                          "restrict_public_buckets"))  # fmt: skip
    assert only(pr, "aws_s3_bucket")["bucket"] == "pr-use2-dpl-raw-pr7-111111111111"


def test_table_is_on_demand_with_pitr(pr: dict[str, Any]) -> None:
    table = only(pr, "aws_dynamodb_table")
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["hash_key"] == "record_id"
    assert table["server_side_encryption"]["enabled"] is True


def test_vpc_has_three_private_subnets_gateway_endpoints_and_no_nat(pr: dict[str, Any]) -> None:
    assert only(pr, "aws_vpc")["cidr_block"] == "10.110.0.0/16"
    subnets = sorted(resources(pr, "aws_subnet").values(), key=lambda s: s["cidr_block"])
    assert [s["cidr_block"] for s in subnets] == ["10.110.128.0/20", "10.110.144.0/20", "10.110.160.0/20"]
    assert [s["availability_zone"].split(", ")[1] for s in subnets] == ["0)}", "1)}", "2)}"]
    assert {s["map_public_ip_on_launch"] for s in subnets} == {False}
    endpoints = _by(pr, "aws_vpc_endpoint", "service_name")
    assert sorted(endpoints) == ["com.amazonaws.us-east-2.dynamodb", "com.amazonaws.us-east-2.s3"]
    assert {e["vpc_endpoint_type"] for e in endpoints.values()} == {"Gateway"}
    for absent in ("aws_nat_gateway", "aws_internet_gateway", "aws_eip", "aws_route"):
        assert resources(pr, absent) == {}
    egress = only(pr, "aws_security_group")["egress"]
    assert [(e["protocol"], e["from_port"], e["to_port"]) for e in egress] == [("tcp", 443, 443)]
    assert only(pr, "aws_flow_log")["traffic_type"] == "ALL"


def test_four_arm64_functions_share_the_layer_inside_the_vpc(pr: dict[str, Any]) -> None:
    functions = _by(pr, "aws_lambda_function", "function_name")
    assert sorted(functions) == sorted(f"pr-use2-dpl-{s}-pr7" for s in STEPS)
    for fn in functions.values():
        assert fn["architectures"] == ["arm64"]
        assert fn["runtime"] == "python3.12"
        assert fn["layers"] == ["${aws_lambda_layer_version.layer.arn}"]
        assert len(fn["vpc_config"]["subnet_ids"]) == 3
        assert fn["tracing_config"] == {"mode": "Active"}
        assert fn["reserved_concurrent_executions"] == 2
        assert fn["dead_letter_config"] == {"target_arn": "${aws_sqs_queue.dlq.arn}"}
    assert only(pr, "aws_lambda_layer_version")["compatible_architectures"] == ["arm64"]


def test_grants_are_explicit_and_scoped(pr: dict[str, Any]) -> None:
    policies = _policies(pr)
    for statements in policies.values():
        for s in statements:
            assert not any("*" in a for a in s["Action"]), s
            if "*" in s["Resource"]:
                assert all(a.split(":")[0] in {"xray", "ec2", "logs"} for a in s["Action"]), s

    def actions(fn: str) -> dict[str, list[str]]:
        return {a: s["Resource"] for s in policies[fn] for a in s["Action"]}

    assert actions("ingest")["s3:PutObject"] == ["${aws_s3_bucket.raw-bucket_66709A2F.arn}/inline/*"]
    assert "s3:GetObject" not in actions("ingest")
    assert actions("validate")["s3:PutObject"] == ["${aws_s3_bucket.raw-bucket_66709A2F.arn}/validated/*"]
    assert actions("load")["dynamodb:BatchWriteItem"] == ["${aws_dynamodb_table.table_43360BC0.arn}"]
    assert "dynamodb:BatchWriteItem" not in actions("transform")
    workflow = actions("workflow-role")
    assert len(workflow["lambda:InvokeFunction"]) == 4
    assert workflow["sns:Publish"] == ["${aws_sns_topic.alerts.arn}"]
    assert workflow["sqs:SendMessage"] == ["${aws_sqs_queue.dlq.arn}"]


def test_workflow_retries_each_task_with_backoff_and_catches_to_sns_and_dlq(pr: dict[str, Any]) -> None:
    machine = only(pr, "aws_sfn_state_machine")
    assert machine["tracing_configuration"] == {"enabled": True}
    assert machine["logging_configuration"]["level"] == "ERROR"
    definition = json.loads(machine["definition"])
    states = definition["States"]
    assert definition["StartAt"] == "Ingest"
    assert [states[s].get("Next") for s in STATE_ORDER] == ["HasBatch", "Transform", "Load", None]
    # an input without records or key (the seed's smoke test) ends in NoBatch, not in a failure
    assert states["HasBatch"]["Default"] == "Validate"
    assert states["HasBatch"]["Choices"][0]["Next"] == "NoBatch"
    assert states["NoBatch"]["Type"] == "Succeed"
    assert states["Load"]["End"] is True
    for name in STATE_ORDER:
        (retry,) = states[name]["Retry"]
        assert retry == {
            "ErrorEquals": list(RETRYABLE_ERRORS),
            "IntervalSeconds": 2,
            "MaxAttempts": 3,
            "BackoffRate": 2.0,
        }
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Notify"}
        ]
    assert states["Notify"]["Resource"] == "arn:aws:states:::sns:publish"
    assert states["Notify"]["Next"] == "DeadLetter"
    assert states["DeadLetter"]["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert states["DeadLetter"]["Parameters"]["QueueUrl"] == "${aws_sqs_queue.dlq.url}"
    assert states["Failed"]["Type"] == "Fail"
    assert only(pr, "aws_sqs_queue")["message_retention_seconds"] == 14 * 86400


def test_dashboard_alarms_and_exports(pr: dict[str, Any]) -> None:
    body = json.loads(only(pr, "aws_cloudwatch_dashboard")["dashboard_body"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles == ["Lambda Invocations", "Lambda Errors", "Workflow executions", "Records table writes"]
    assert {w["properties"]["region"] for w in body["widgets"]} == {"us-east-2"}
    alarms = _by(pr, "aws_cloudwatch_metric_alarm", "alarm_name")
    assert len(alarms) == 10
    assert alarms["pr-use2-dpl-executions-failed-pr7"]["namespace"] == "AWS/States"
    assert alarms["pr-use2-dpl-dlq-depth-pr7"]["metric_name"] == "ApproximateNumberOfMessagesVisible"
    params = sorted(p["name"] for p in resources(pr, "aws_ssm_parameter").values())
    assert params == [
        f"/tap/pr7/data-pipeline/{k}" for k in ("bucket-name", "state-machine-arn", "table-name", "vpc-id")
    ]


def test_outputs_carry_the_seed_names(pr: dict[str, Any]) -> None:
    assert sorted(pr["output"]) == sorted(
        [
            "S3BucketName",
            "DynamoDBTableName",
            "IngestFunctionArn",
            "ValidateFunctionArn",
            "TransformFunctionArn",
            "LoadFunctionArn",
            "StepFunctionsStateMachineArn",
            "VpcId",
            "CloudWatchDashboardName",
            "DataPipelineDlqUrl",
        ]
    )


@pytest.mark.parametrize(
    ("env", "cidr"), [("dev", "10.10.0.0/16"), ("staging", "10.11.0.0/16"), ("prod", "10.12.0.0/16")]
)
def test_each_environment_has_its_own_vpc_block(synth: SynthFn, env: str, cidr: str) -> None:
    stack = synth(env)["data_pipeline"]
    assert only(stack, "aws_vpc")["cidr_block"] == cidr
    assert only(stack, "aws_dynamodb_table")["deletion_protection_enabled"] is (env != "dev")
    assert only(stack, "aws_s3_bucket")["force_destroy"] is (env == "dev")
    functions = resources(stack, "aws_lambda_function").values()
    assert {f["reserved_concurrent_executions"] for f in functions} == {
        {"dev": 5, "staging": 5, "prod": 50}[env]
    }


def test_workflow_needs_every_step() -> None:
    with pytest.raises(ValueError, match="workflow needs a function for step\\(s\\) transform, load"):
        workflow_definition(
            function_arns={"ingest": "a", "validate": "b"},
            topic_arn="t",
            dlq_url="q",
            max_attempts=1,
            interval_seconds=1,
            backoff_rate=2,
        )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"vpc_cidr": "10.0.0.0/8"}, "vpc_cidr 10.0.0.0/8 must be a /16 to /20"),
        ({"vpc_cidr": "nope"}, "vpc_cidr 'nope' is not an IPv4 network"),
        ({"retry_backoff_rate": 0.5}, "greater than or equal to 1"),
        ({"log_retention_days": 2}, "log_retention_days"),
        ({"nat": True}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        DataPipelineSettings(**values)
    assert message in str(err.value)


def test_raw_objects_start_the_workflow_through_eventbridge(pr: dict[str, Any]) -> None:
    assert only(pr, "aws_s3_bucket_notification")["eventbridge"] is True
    pattern = json.loads(only(pr, "aws_cloudwatch_event_rule")["event_pattern"])
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "raw/"}]
    target = only(pr, "aws_cloudwatch_event_target")
    assert target["arn"] == "${aws_sfn_state_machine.workflow.arn}"
    assert target["input_transformer"]["input_template"] == '{"bucket": <bucket>, "key": <key>}'
    # the events role may start this state machine and nothing else
    role_policies = [
        json.loads(p["policy"])["Statement"]
        for p in resources(pr, "aws_iam_role_policy").values()
        if "raw-trigger" in p["role"]
    ]
    assert role_policies == [
        [
            {
                "Effect": "Allow",
                "Action": ["states:StartExecution"],
                "Resource": ["${aws_sfn_state_machine.workflow.arn}"],
            }
        ]
    ]


@pytest.mark.parametrize(("env", "days"), [("pr", 7), ("prod", 365)])
def test_log_retention_is_the_seeds_7_days_and_a_year_in_prod(synth: SynthFn, env: str, days: int) -> None:
    assert DataPipelineSettings().log_retention_days == 7
    groups = resources(synth(env)["data_pipeline"], "aws_cloudwatch_log_group").values()
    assert groups
    assert {g["retention_in_days"] for g in groups} == {days}
