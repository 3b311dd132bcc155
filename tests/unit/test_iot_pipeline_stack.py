"""The IoT pipeline stack's synthesized JSON holds the seed's requirements."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from lib.config.settings.iot_pipeline import IotPipelineSettings
from tests.unit.conftest import SynthFn, only, resources

ENVS = ("dev", "staging", "prod", "pr")


@pytest.fixture(scope="module")
def pr(synth: SynthFn) -> dict[str, Any]:
    return synth("pr")["iot_pipeline"]


def _by(stack: dict[str, Any], rtype: str, key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in resources(stack, rtype).values()}


def _statements(stack: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Role policy statements per function, keyed by the policy's construct path."""
    out = {}
    for policy in resources(stack, "aws_iam_role_policy").values():
        fn = policy["//"]["metadata"]["path"].split("/")[1]
        out[fn] = json.loads(policy["policy"])["Statement"]
    return out


def test_every_method_is_signed_and_needs_the_api_key(pr: dict[str, Any]) -> None:
    methods = {
        m["http_method"] + " " + m["resource_id"].split("res-")[1].split("_")[0]: m
        for m in resources(pr, "aws_api_gateway_method").values()
    }
    assert sorted(methods) == ["GET query", "POST ingest", "POST process"]
    assert {m["authorization"] for m in methods.values()} == {"AWS_IAM"}
    assert {m["api_key_required"] for m in methods.values()} == {True}
    paths = sorted(r["path_part"] for r in resources(pr, "aws_api_gateway_resource").values())
    assert paths == ["ingest", "process", "query"]
    validator = only(pr, "aws_api_gateway_request_validator")
    assert (validator["validate_request_body"], validator["validate_request_parameters"]) == (True, True)
    assert {m["request_validator_id"] for m in methods.values()} == {
        "${aws_api_gateway_request_validator.api-validator.id}"
    }
    assert methods["POST ingest"]["request_models"] == {
        "application/json": "${aws_api_gateway_model.reading-model.name}"
    }
    assert "request_models" not in methods["GET query"]
    schema = json.loads(only(pr, "aws_api_gateway_model")["schema"])
    assert schema["required"] == ["device_id", "sensor_data"]
    integrations = resources(pr, "aws_api_gateway_integration").values()
    assert {i["type"] for i in integrations} == {"AWS_PROXY"}


def test_stage_throttles_at_1000_rps_and_writes_access_logs(pr: dict[str, Any]) -> None:
    settings = only(pr, "aws_api_gateway_method_settings")
    assert settings["method_path"] == "*/*"
    assert settings["settings"]["throttling_rate_limit"] == 1000
    assert settings["settings"]["throttling_burst_limit"] == 2000
    stage = only(pr, "aws_api_gateway_stage")
    assert stage["stage_name"] == "v1"
    assert stage["xray_tracing_enabled"] is True
    log = stage["access_log_settings"]
    assert log["destination_arn"] == "${aws_cloudwatch_log_group.access-logs.arn}"
    assert json.loads(log["format"])["requestId"] == "$context.requestId"
    plan = only(pr, "aws_api_gateway_usage_plan")
    assert plan["throttle_settings"] == {"burst_limit": 2000, "rate_limit": 1000}


def test_tables_are_on_demand_with_pitr_and_the_seed_keys(pr: dict[str, Any]) -> None:
    tables = _by(pr, "aws_dynamodb_table", "name")
    raw, processed = tables["pr-use1-iot-raw-pr7"], tables["pr-use1-iot-processed-pr7"]
    assert (raw["hash_key"], raw["range_key"]) == ("device_id", "timestamp")
    assert {a["name"]: a["type"] for a in raw["attribute"]} == {"device_id": "S", "timestamp": "N"}
    assert (processed["hash_key"], processed["range_key"]) == ("device_id", "event_date")
    for table in (raw, processed):
        assert table["billing_mode"] == "PAY_PER_REQUEST"
        assert table["point_in_time_recovery"] == {"enabled": True}
        assert table["server_side_encryption"]["enabled"] is True
        assert table["deletion_protection_enabled"] is False


def test_queue_redrives_after_three_receives_to_a_14_day_dlq(pr: dict[str, Any]) -> None:
    queues = _by(pr, "aws_sqs_queue", "name")
    dlq, queue = queues["pr-use1-iot-ingestion-dlq-pr7"], queues["pr-use1-iot-ingestion-pr7"]
    assert dlq["message_retention_seconds"] == 14 * 86400
    redrive = json.loads(queue["redrive_policy"])
    assert redrive["maxReceiveCount"] == 3
    assert redrive["deadLetterTargetArn"].startswith("${aws_sqs_queue.ingestion_dlq_")
    # compact JSON: SQS returns it without whitespace (no perpetual diff)
    assert ": " not in queue["redrive_policy"]
    # pr environments: seconds (pr.yaml), so a poison reading reaches the DLQ within a test;
    # never below the processor's timeout (Lambda's rule for an SQS event source)
    processor = next(
        f for f in resources(pr, "aws_lambda_function").values() if "processor" in f["function_name"]
    )
    assert queue["visibility_timeout_seconds"] == 2 >= processor["timeout"]
    assert IotPipelineSettings().queue_visibility_timeout_seconds == 6 * 60
    mapping = only(pr, "aws_lambda_event_source_mapping")
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["batch_size"] == 10


def test_alarms_cover_errors_throttles_dlq_and_api_5xx(pr: dict[str, Any]) -> None:
    alarms = _by(pr, "aws_cloudwatch_metric_alarm", "alarm_name")
    expected = {
        f"pr-use1-iot-{fn}-{m}-pr7"
        for fn in ("ingest", "processor", "query")
        for m in ("errors", "throttles")
    }
    expected |= {"pr-use1-iot-dlq-depth-pr7", "pr-use1-iot-api-5xx-pr7"}
    assert set(alarms) == expected
    assert alarms["pr-use1-iot-api-5xx-pr7"]["metric_name"] == "5XXError"
    assert alarms["pr-use1-iot-dlq-depth-pr7"]["metric_name"] == "ApproximateNumberOfMessagesVisible"
    topic = only(pr, "aws_sns_topic")
    assert {tuple(a["alarm_actions"]) for a in alarms.values()} == {("${aws_sns_topic.alerts.arn}",)}
    assert topic["kms_master_key_id"].startswith("${aws_kms_key.key_")


def test_ssm_holds_a_securestring_api_key_and_a_json_config(pr: dict[str, Any]) -> None:
    params = _by(pr, "aws_ssm_parameter", "name")
    key = params["/tap/pr7/iot-pipeline/api-key"]
    assert key["type"] == "SecureString"
    assert key["value"] == "${aws_api_gateway_api_key.api-key.value}"  # never a literal secret
    config = params["/tap/pr7/iot-pipeline/config"]
    assert config["type"] == "String"
    assert json.loads(config["value"]) == {
        "max_metrics_per_reading": 20,
        "max_receive_count": 3,
        "processor_batch_size": 10,
    }


def test_functions_are_arm64_traced_with_explicit_grants(pr: dict[str, Any]) -> None:
    functions = _by(pr, "aws_lambda_function", "function_name")
    assert sorted(functions) == [
        "pr-use1-iot-ingest-pr7",
        "pr-use1-iot-processor-pr7",
        "pr-use1-iot-query-pr7",
    ]
    for fn in functions.values():
        assert fn["architectures"] == ["arm64"]
        assert fn["runtime"] == "python3.12"
        assert fn["tracing_config"] == {"mode": "Active"}
        assert fn["layers"] == ["${aws_lambda_layer_version.layer.arn}"]
    statements = _statements(pr)
    actions = {fn: sorted(a for s in st for a in s["Action"]) for fn, st in statements.items()}
    assert "dynamodb:PutItem" in actions["ingest"]
    assert "sqs:SendMessage" in actions["ingest"]
    assert "dynamodb:UpdateItem" in actions["processor"]
    assert "sqs:DeleteMessage" in actions["processor"]
    assert "dynamodb:Query" in actions["query"]
    assert "dynamodb:PutItem" not in actions["query"]
    for st in statements.values():
        for s in st:
            assert not any("*" in a for a in s["Action"]), s
            if s["Resource"] == ["*"]:  # X-Ray accepts no resource-level permission
                assert set(s["Action"]) == {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}


@pytest.mark.parametrize(
    ("env", "concurrency", "retention"),
    [("dev", 5, 30), ("staging", 20, 30), ("prod", 100, 365), ("pr", 2, 7)],
)
def test_reserved_concurrency_and_log_retention_per_environment(
    synth: SynthFn, env: str, concurrency: int, retention: int
) -> None:
    stack = synth(env)["iot_pipeline"]
    functions = resources(stack, "aws_lambda_function").values()
    assert {f["reserved_concurrent_executions"] for f in functions} == {concurrency}
    groups = resources(stack, "aws_cloudwatch_log_group").values()
    assert {g["retention_in_days"] for g in groups} == {retention}
    assert len(groups) == 4  # three functions + API access logs
    tables = resources(stack, "aws_dynamodb_table").values()
    assert {t["deletion_protection_enabled"] for t in tables} == {env in ("staging", "prod")}


def test_outputs_carry_the_seed_names(pr: dict[str, Any]) -> None:
    assert sorted(pr["output"]) == [
        "AlertTopicArn",
        "ApiEndpoint",
        "IngestionQueueUrl",
        "ProcessedDataTableName",
        "RawSensorTableName",
    ]
    assert pr["output"]["ApiEndpoint"]["value"].endswith(".invoke_url}")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"queue_visibility_timeout_seconds": 30, "processor_timeout_seconds": 60},
            "queue_visibility_timeout_seconds (30) must be at least processor_timeout_seconds (60)",
        ),
        (
            {"throttle_rate_limit": 1000, "throttle_burst_limit": 10},
            "throttle_burst_limit 10 is below throttle_rate_limit 1000.0: a burst must allow",
        ),
        ({"log_retention_days": 2}, "log_retention_days"),
        ({"reserved_concurrency": 0}, "greater than or equal to 1"),
        ({"dlq_retention_days": 15}, "less than or equal to 14"),
        ({"unknown": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        IotPipelineSettings(**values)
    assert message in str(err.value)
