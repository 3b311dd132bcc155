"""Transaction pipeline (seed 002): the synthesized stacks ``transaction_images`` and
``transaction_pipeline`` per environment, and the errors of invalid settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from lib.config.settings.transaction_images import TransactionImagesSettings
from lib.config.settings.transaction_pipeline import TransactionPipelineSettings
from lib.constructs.container_image import ContainerImage, content_tag, dockerfile_command
from lib.constructs.image_repository import keep_last_policy
from lib.constructs.packaging import LAMBDA_ROOT, PackagingError
from lib.stacks.transaction_pipeline import upload_event_pattern, upload_schema
from tests.unit.conftest import only, resources

FUNCTIONS = ("csv_validator", "data_transformer", "notification_sender")


def _policy_statements(stack: dict[str, Any], role_fragment: str) -> list[dict[str, Any]]:
    policies = [
        p for key, p in resources(stack, "aws_iam_role_policy").items() if key.startswith(role_fragment)
    ]
    assert len(policies) == 1, f"one inline policy for {role_fragment}"
    return json.loads(policies[0]["policy"])["Statement"]


def _definition(stack: dict[str, Any]) -> dict[str, Any]:
    return json.loads(only(stack, "aws_sfn_state_machine")["definition"])


# -- transaction_images -----------------------------------------------------------------


def test_each_function_has_a_scanned_immutable_repository_with_a_lifecycle(synth):
    images = synth("pr")["transaction_images"]
    repos = list(resources(images, "aws_ecr_repository").values())
    assert sorted(r["name"] for r in repos) == [
        "pr-use1-txn-csv-validator-pr7",
        "pr-use1-txn-data-transformer-pr7",
        "pr-use1-txn-notification-sender-pr7",
    ]
    for repo in repos:
        assert repo["image_scanning_configuration"] == {"scan_on_push": True}
        assert repo["image_tag_mutability"] == "IMMUTABLE"
        assert repo["encryption_configuration"] == [{"encryption_type": "KMS"}]
        assert repo["force_delete"] is True  # pr may be destroyed with its images
    policies = [json.loads(p["policy"]) for p in resources(images, "aws_ecr_lifecycle_policy").values()]
    assert len(policies) == 3
    # pr.yaml keeps 3 images per repository
    assert {p["rules"][0]["selection"]["countNumber"] for p in policies} == {3}
    assert policies[0]["rules"][0]["selection"]["countType"] == "imageCountMoreThan"
    assert set(images["output"]) == {
        "TransactionCsvValidatorRepositoryUrl",
        "TransactionDataTransformerRepositoryUrl",
        "TransactionNotificationSenderRepositoryUrl",
    }


def test_prod_keeps_more_images_and_its_repositories_outlive_a_destroy(synth):
    images = synth("prod")["transaction_images"]
    for repo in resources(images, "aws_ecr_repository").values():
        assert repo["force_delete"] is False
    counts = {
        json.loads(p["policy"])["rules"][0]["selection"]["countNumber"]
        for p in resources(images, "aws_ecr_lifecycle_policy").values()
    }
    assert counts == {30}


def test_keep_last_policy_refuses_out_of_range_counts():
    assert json.loads(keep_last_policy(5))["rules"][0]["action"] == {"type": "expire"}
    with pytest.raises(ValueError, match="image retention count 0 is outside 1-1000"):
        keep_last_policy(0)


def test_image_retention_setting_is_bounded():
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        TransactionImagesSettings(image_retention_count=0)


# -- functions: container images ----------------------------------------------------------


def test_functions_are_arm64_images_tagged_by_content(synth):
    stack = synth("pr")["transaction_pipeline"]
    functions = {f["function_name"]: f for f in resources(stack, "aws_lambda_function").values()}
    assert sorted(functions) == [
        "pr-use1-txn-csv-validator-pr7",
        "pr-use1-txn-data-transformer-pr7",
        "pr-use1-txn-notification-sender-pr7",
    ]
    for function in FUNCTIONS:
        name = f"pr-use1-txn-{function.replace('_', '-')}-pr7"
        fn = functions[name]
        tag = content_tag(LAMBDA_ROOT / "transaction_pipeline" / function, architecture="arm64")
        assert fn["package_type"] == "Image"
        assert fn["architectures"] == ["arm64"]
        assert fn["image_uri"] == f"111111111111.dkr.ecr.us-east-1.amazonaws.com/{name}:{tag}"
        assert fn["image_config"] == {"command": ["handler.handler"]}
        assert fn["reserved_concurrent_executions"] == 2  # pr.yaml
        assert "runtime" not in fn
        assert "handler" not in fn
        assert fn["dead_letter_config"] == {"target_arn": "${aws_sqs_queue.dlq.arn}"}


def test_content_tag_changes_with_code_and_architecture(tmp_path):
    (tmp_path / "Dockerfile").write_text('FROM scratch\nCMD ["handler.handler"]\n')
    (tmp_path / "handler.py").write_text("def handler(e, c):\n    return 1\n")
    arm = content_tag(tmp_path, architecture="arm64")
    assert arm.startswith("src-")
    assert len(arm) == 28
    assert content_tag(tmp_path, architecture="arm64") == arm  # deterministic
    assert content_tag(tmp_path, architecture="x86_64") != arm
    (tmp_path / "handler.py").write_text("def handler(e, c):\n    return 2\n")
    assert content_tag(tmp_path, architecture="arm64") != arm
    assert dockerfile_command(tmp_path) == ["handler.handler"]


def test_image_sources_without_dockerfile_or_cmd_are_refused(tmp_path):
    (tmp_path / "handler.py").write_text("x = 1\n")
    with pytest.raises(PackagingError, match="has no Dockerfile"):
        content_tag(tmp_path, architecture="arm64")
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCMD handler.handler\n")
    with pytest.raises(PackagingError, match="has no exec-form CMD"):
        dockerfile_command(tmp_path)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCMD [1, 2]\n")
    with pytest.raises(PackagingError, match="CMD must be a JSON list of strings"):
        dockerfile_command(tmp_path)
    with pytest.raises(PackagingError, match="architecture 'ppc' is not one of arm64, x86_64"):
        ContainerImage.for_function(
            system="transaction_pipeline",
            function="csv_validator",
            repository="r",
            account_id="1",
            region="us-east-1",
            architecture="ppc",
        )


def test_synth_metadata_lists_the_images_to_push_before_apply(synth, tmp_path):
    from lib.app import CiMetadata
    from lib.app import synth as synth_app
    from lib.config import resolve_target

    target = resolve_target("pr", "pr7")
    synth_app(target, CiMetadata(), tmp_path, only="transaction_images,transaction_pipeline")
    meta = json.loads((tmp_path / "tap-synth.json").read_text())["stacks"]
    assert meta["transaction_images"]["images"] == []
    assert meta["transaction_pipeline"]["depends_on"] == ["transaction_images"]
    pushed = meta["transaction_pipeline"]["images"]
    assert [i["context"] for i in pushed] == [f"lib/lambda/transaction_pipeline/{f}" for f in FUNCTIONS]
    assert {i["platform"] for i in pushed} == {"linux/arm64"}
    uris = {
        f["image_uri"] for f in resources(synth("pr")["transaction_pipeline"], "aws_lambda_function").values()
    }
    assert {i["uri"] for i in pushed} == uris


# -- storage, queues, IAM -------------------------------------------------------------------


def test_tables_are_on_demand_with_a_timestamp_index(synth):
    stack = synth("pr")["transaction_pipeline"]
    tables = {t["name"]: t for t in resources(stack, "aws_dynamodb_table").values()}
    assert sorted(tables) == ["pr-use1-txn-processing-status-pr7", "pr-use1-txn-transactions-pr7"]
    for table in tables.values():
        assert table["billing_mode"] == "PAY_PER_REQUEST"
        assert table["point_in_time_recovery"] == {"enabled": True}
        assert table["server_side_encryption"]["enabled"] is True
        assert table["global_secondary_index"][0]["range_key"] == "timestamp"
        assert table["deletion_protection_enabled"] is False
    prod = synth("prod")["transaction_pipeline"]
    assert {t["deletion_protection_enabled"] for t in resources(prod, "aws_dynamodb_table").values()} == {
        True
    }


def test_upload_bucket_is_encrypted_private_and_destroyable_in_pr(synth):
    stack = synth("pr")["transaction_pipeline"]
    bucket = only(stack, "aws_s3_bucket")
    assert bucket["force_destroy"] is True
    block = only(stack, "aws_s3_bucket_public_access_block")
    assert all(
        block[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    sse = only(stack, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    assert only(stack, "aws_s3_bucket_notification")["eventbridge"] is True
    assert only(synth("prod")["transaction_pipeline"], "aws_s3_bucket")["force_destroy"] is False


def test_function_roles_are_scoped_to_their_resources(synth):
    stack = synth("pr")["transaction_pipeline"]
    for role in ("csv-validator", "data-transformer", "notification-sender", "workflow-role", "events-role"):
        for statement in _policy_statements(stack, role):
            for action in statement["Action"]:
                assert "*" not in action, f"{role}: wildcard action {action}"
    validator = _policy_statements(stack, "csv-validator")
    s3 = next(s for s in validator if "s3:GetObject" in s["Action"])
    assert s3["Resource"] == ["${aws_s3_bucket.uploads_bucket_556152F0.arn}/validated/*"]
    notifier = _policy_statements(stack, "notification-sender")
    assert {
        "Effect": "Allow",
        "Action": ["sns:Publish"],
        "Resource": ["${aws_sns_topic.topic.arn}"],
    } in notifier
    events = _policy_statements(stack, "events-role")
    assert events == [
        {
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": ["${aws_sfn_state_machine.workflow.arn}"],
        }
    ]


# -- workflow ---------------------------------------------------------------------------------


def test_workflow_is_express_with_logging_and_tracing(synth):
    stack = synth("pr")["transaction_pipeline"]
    machine = only(stack, "aws_sfn_state_machine")
    assert machine["type"] == "EXPRESS"
    assert machine["name"] == "pr-use1-txn-workflow-pr7"
    assert machine["logging_configuration"]["level"] == "ALL"
    assert machine["logging_configuration"]["include_execution_data"] is False
    assert machine["logging_configuration"]["log_destination"].endswith(":*")
    assert machine["tracing_configuration"] == {"enabled": True}
    logs = resources(stack, "aws_cloudwatch_log_group")["workflow-logs"]
    assert logs["name"] == "/aws/vendedlogs/states/pr-use1-txn-workflow-pr7"
    assert logs["retention_in_days"] == 1  # pr.yaml


def test_workflow_runs_validate_transform_notify_with_retries_and_a_catch(synth):
    definition = _definition(synth("pr")["transaction_pipeline"])
    states = definition["States"]
    assert definition["StartAt"] == "Describe"
    assert [states["Describe"]["Next"], states["Validate"]["Next"], states["Transform"]["Next"]] == [
        "Validate",
        "Transform",
        "Notify",
    ]
    for step in ("Validate", "Transform", "Notify"):
        task = states[step]
        assert task["Resource"] == "arn:aws:states:::lambda:invoke"
        retry = task["Retry"][0]
        assert retry["BackoffRate"] == 2.0
        assert retry["MaxAttempts"] == 3
        assert retry["IntervalSeconds"] == 2
        assert "Lambda.TooManyRequestsException" in retry["ErrorEquals"]
        assert task["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}
        ]
    # failure path: status FAILED -> DLQ -> SNS -> Fail
    assert states["RecordFailure"]["Next"] == "SendToDlq"
    assert states["SendToDlq"]["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert states["SendToDlq"]["Parameters"]["QueueUrl"] == "${aws_sqs_queue.dlq.url}"
    assert states["NotifyFailure"]["Parameters"]["TopicArn"] == "${aws_sns_topic.topic.arn}"
    assert states["Failed"]["Type"] == "Fail"


def test_only_validated_uploads_start_the_workflow(synth):
    stack = synth("pr")["transaction_pipeline"]
    rule = only(stack, "aws_cloudwatch_event_rule")
    pattern = json.loads(rule["event_pattern"])
    assert pattern["detail"]["object"]["key"] == [{"prefix": "validated/"}]
    assert pattern["detail-type"] == ["Object Created"]
    assert upload_event_pattern("b")["detail"]["bucket"]["name"] == ["b"]
    target = only(stack, "aws_cloudwatch_event_target")
    assert target["arn"] == "${aws_sfn_state_machine.workflow.arn}"


# -- REST API ---------------------------------------------------------------------------------


def test_upload_api_validates_the_body_against_a_json_schema(synth):
    stack = synth("pr")["transaction_pipeline"]
    method = only(stack, "aws_api_gateway_method")
    assert (method["http_method"], method["api_key_required"]) == ("POST", True)
    assert method["request_validator_id"] == "${aws_api_gateway_request_validator.api-validator.id}"
    assert method["request_models"] == {"application/json": "${aws_api_gateway_model.api-model.name}"}
    assert only(stack, "aws_api_gateway_resource")["path_part"] == "upload"
    validator = only(stack, "aws_api_gateway_request_validator")
    assert validator["validate_request_body"] is True
    stage = only(stack, "aws_api_gateway_stage")
    assert (
        stage["access_log_settings"]["destination_arn"] == "${aws_cloudwatch_log_group.api-access-logs.arn}"
    )
    assert resources(stack, "aws_cloudwatch_log_group")["api-access-logs"]["retention_in_days"] == 1
    schema = json.loads(only(stack, "aws_api_gateway_model")["schema"])
    assert schema == upload_schema(1_048_576)
    assert schema["required"] == ["file_name", "content"]
    assert schema["additionalProperties"] is False


def test_api_key_usage_plan_throttle_and_quota_per_environment(synth):
    pr = synth("pr")["transaction_pipeline"]
    plan = only(pr, "aws_api_gateway_usage_plan")
    assert plan["quota_settings"] == {"limit": 500, "period": "DAY"}
    assert plan["throttle_settings"] == {"burst_limit": 20, "rate_limit": 10}
    assert plan["api_stages"][0]["stage"] == "${aws_api_gateway_stage.rest-api_stage_E5106009.stage_name}"
    key = only(pr, "aws_api_gateway_usage_plan_key")
    assert key["key_type"] == "API_KEY"
    assert "value" not in only(pr, "aws_api_gateway_api_key")  # AWS generates it; no secret in JSON
    staging = only(synth("staging")["transaction_pipeline"], "aws_api_gateway_usage_plan")
    assert staging["throttle_settings"] == {"burst_limit": 50, "rate_limit": 25}
    assert staging["quota_settings"] == {"limit": 10000, "period": "DAY"}
    prod = only(synth("prod")["transaction_pipeline"], "aws_api_gateway_usage_plan")
    assert prod["quota_settings"] == {"limit": 100000, "period": "DAY"}
    assert prod["throttle_settings"] == {"burst_limit": 200, "rate_limit": 100}
    settings = only(synth("prod")["transaction_pipeline"], "aws_api_gateway_method_settings")["settings"]
    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (100, 200)


# -- alarms, outputs ----------------------------------------------------------------------


def test_alarms_cover_function_errors_workflow_failures_and_dlq_depth(synth):
    stack = synth("pr")["transaction_pipeline"]
    alarms = {a["alarm_name"]: a for a in resources(stack, "aws_cloudwatch_metric_alarm").values()}
    metrics = sorted((a["namespace"], a["metric_name"]) for a in alarms.values())
    assert metrics.count(("AWS/Lambda", "Errors")) == 3
    assert ("AWS/States", "ExecutionsFailed") in metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    for alarm in alarms.values():
        assert alarm["alarm_actions"] == ["${aws_sns_topic.topic.arn}"]


def test_outputs_name_the_deployed_pieces(synth):
    outputs = synth("pr")["transaction_pipeline"]["output"]
    assert outputs["TransactionApiEndpoint"]["value"].endswith("/upload")
    assert outputs["TransactionStateMachineArn"]["value"] == "${aws_sfn_state_machine.workflow.arn}"
    assert {"TransactionsTableName", "TransactionStatusTableName", "TransactionUploadBucketName"} <= set(
        outputs
    )


# -- settings errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"api": {"rate_limit": 50, "burst_limit": 10}}, "burst_limit 10 is below rate_limit 50.0"),
        ({"log_retention_days": 8}, "log_retention_days 8 is not accepted by CloudWatch Logs"),
        ({"retry": {"backoff_rate": 0.5}}, "greater than or equal to 1"),
        ({"max_file_bytes": 10_000_000}, "less than or equal to 5000000"),
        ({"reserved": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_are_refused_with_a_reason(raw, message):
    with pytest.raises(ValidationError, match=message):
        TransactionPipelineSettings.model_validate(raw)
