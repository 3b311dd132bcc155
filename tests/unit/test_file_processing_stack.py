"""File-processing service (seed 004): the synthesized ``file_processing`` stack per
environment, and the errors of invalid settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from lib.config.settings.file_processing import FileProcessingSettings
from lib.constructs.rest_api import RestApiError, Throttle, split_path
from lib.stacks.file_processing import PROCESSORS, bedrock_model_arn
from tests.unit.conftest import only, resources


def _statements(stack: dict[str, Any], function: str) -> list[dict[str, Any]]:
    key = next(k for k in resources(stack, "aws_iam_role_policy") if k.startswith(f"{function}_role_policy"))
    return json.loads(resources(stack, "aws_iam_role_policy")[key]["policy"])["Statement"]


def _actions(stack: dict[str, Any], function: str) -> set[str]:
    return {a for s in _statements(stack, function) for a in s["Action"]}


def test_uploads_bucket_versioned_encrypted_private_with_noncurrent_expiry(synth):
    stack = synth("pr")["file_processing"]
    assert only(stack, "aws_s3_bucket_versioning")["versioning_configuration"] == {"status": "Enabled"}
    sse = only(stack, "aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    assert sse["bucket_key_enabled"] is True
    block = only(stack, "aws_s3_bucket_public_access_block")
    assert [
        block[k]
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    ] == [True] * 4
    rule = only(stack, "aws_s3_bucket_lifecycle_configuration")["rule"][0]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]
    assert rule["status"] == "Enabled"
    policy = json.loads(only(stack, "aws_s3_bucket_policy")["policy"])
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in deny)


def test_bucket_cors_allows_browser_uploads(synth):
    cors = only(synth("pr")["file_processing"], "aws_s3_bucket_cors_configuration")["cors_rule"]
    assert cors == [
        {
            "allowed_headers": ["*"],
            "allowed_methods": ["GET", "HEAD", "PUT"],
            "allowed_origins": ["*"],
            "expose_headers": ["ETag"],
            "max_age_seconds": 3000,
        }
    ]


def test_notifications_route_each_suffix_to_its_processor(synth):
    stack = synth("pr")["file_processing"]
    notification = only(stack, "aws_s3_bucket_notification")
    routes = {
        n["filter_suffix"]: n["lambda_function_arn"].split(".")[1].split("_")[0]
        for n in notification["lambda_function"]
    }
    assert routes == {
        ".jpg": "image-processor",
        ".png": "image-processor",
        ".pdf": "document-processor",
        ".txt": "document-processor",
        ".csv": "data-processor",
        ".json": "data-processor",
    }
    assert {tuple(n["events"]) for n in notification["lambda_function"]} == {("s3:ObjectCreated:*",)}
    # S3 may invoke exactly the three processors, from this bucket and account only
    permissions = [
        p for k, p in resources(stack, "aws_lambda_permission").items() if k.startswith("s3-invoke")
    ]
    assert len(permissions) == 3
    for permission in permissions:
        assert permission["principal"] == "s3.amazonaws.com"
        assert permission["source_account"] == "111111111111"
        assert permission["source_arn"] == "${aws_s3_bucket.uploads_bucket_556152F0.arn}"
    assert sorted(notification["depends_on"]) == sorted(
        f"aws_lambda_permission.s3-invoke-{n.replace('_', '-')}" for n in PROCESSORS
    )


def test_metadata_table_on_demand_with_pitr(synth):
    table = only(synth("pr")["file_processing"], "aws_dynamodb_table")
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"]["enabled"] is True
    assert table["global_secondary_index"][0]["name"] == "by-kind"


def test_functions_log_retention_and_reserved_concurrency_per_environment(synth):
    for env, retention, processors, api in (("pr", 1, 2, 2), ("dev", 7, 5, 5), ("prod", 365, 50, 20)):
        stack = synth(env)["file_processing"]
        groups = resources(stack, "aws_cloudwatch_log_group").values()
        assert {g["retention_in_days"] for g in groups} == {retention}, env
        functions = {f["function_name"]: f for f in resources(stack, "aws_lambda_function").values()}
        reserved = {
            name.split("-files-")[1].rsplit("-", 1)[0]: f["reserved_concurrent_executions"]
            for name, f in functions.items()
        }
        assert reserved == {"image": processors, "document": processors, "data": processors, "api": api}, env
        for fn in functions.values():
            assert fn["architectures"] == ["arm64"]
            assert fn["runtime"] == "python3.12"
            assert fn["layers"] == ["${aws_lambda_layer_version.common-layer.arn}"]


def test_default_log_retention_is_seven_days():
    assert FileProcessingSettings().log_retention_days == 7


def test_resources_carry_the_seed_tags_environment_project_owner(synth):
    for env in ("pr", "prod"):
        tags = synth(env)["file_processing"]["provider"]["aws"][0]["default_tags"][0]["tags"]
        assert {"Environment": env, "Project": "tap", "Owner": "platform"}.items() <= tags.items(), env
        bucket = only(synth(env)["file_processing"], "aws_s3_bucket")
        assert {"Environment", "Project", "Owner"} <= set(bucket["tags"]), env


def test_api_throttled_100_per_minute_burst_200_with_cors_preflights_and_iam_auth(synth):
    stack = synth("dev")["file_processing"]
    settings = only(stack, "aws_api_gateway_method_settings")["settings"]
    # the seed's 100 requests per minute, as API Gateway's per-second rate
    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (1.67, 200)
    alarm = next(
        a for a in resources(stack, "aws_cloudwatch_metric_alarm").values() if a["metric_name"] == "5XXError"
    )
    assert alarm["namespace"] == "AWS/ApiGateway"
    assert alarm["dimensions"]["Stage"] == "v1"
    methods = list(resources(stack, "aws_api_gateway_method").values())
    assert sorted(m["http_method"] for m in methods) == [
        "GET",
        "GET",
        "GET",
        "OPTIONS",
        "OPTIONS",
        "OPTIONS",
        "OPTIONS",
        "POST",
    ]
    for method in methods:
        expected = "NONE" if method["http_method"] == "OPTIONS" else "AWS_IAM"
        assert method["authorization"] == expected
    preflight = list(resources(stack, "aws_api_gateway_integration_response").values())
    assert len(preflight) == 4
    for response in preflight:
        params = response["response_parameters"]
        assert params["method.response.header.Access-Control-Allow-Origin"] == "'*'"
    stage = only(stack, "aws_api_gateway_stage")
    assert stage["stage_name"] == "v1"
    assert stage["xray_tracing_enabled"] is True
    access = stage["access_log_settings"]
    assert access["destination_arn"] == "${aws_cloudwatch_log_group.api-access-logs.arn}"
    assert json.loads(access["format"])["requestId"] == "$context.requestId"
    assert settings["logging_level"] == "ERROR"
    logs = resources(stack, "aws_cloudwatch_log_group")["api-access-logs"]
    assert logs["name"] == "/aws/apigateway/dev-use1-files-api-dev"
    assert only(stack, "aws_api_gateway_request_validator")["validate_request_parameters"] is True
    for method in methods:
        if method["http_method"] != "OPTIONS":
            assert method["request_validator_id"] == "${aws_api_gateway_request_validator.api-validator.id}"


def test_api_role_reads_metadata_and_signs_urls_only(synth):
    stack = synth("pr")["file_processing"]
    assert _actions(stack, "api") >= {
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "s3:GetObject",
        "s3:PutObject",
    }
    put = next(s for s in _statements(stack, "api") if s["Action"] == ["s3:PutObject"])
    assert put["Resource"] == ["${aws_s3_bucket.uploads_bucket_556152F0.arn}/uploads/*"]
    for function in ("api", "image-processor", "document-processor", "data-processor"):
        assert not [a for a in _actions(stack, function) if "*" in a]
        assert "s3:DeleteObject" not in _actions(stack, function)


def test_bedrock_permission_scoped_to_one_model_and_only_when_enabled(synth):
    # off in pr environments (one per pull request: no billed model calls per PR), on elsewhere
    pr = synth("pr")["file_processing"]
    for function in ("image-processor", "document-processor", "data-processor", "api"):
        assert not [a for a in _actions(pr, function) if a.startswith("bedrock:")]
    assert pr["output"]["FileBedrockModelId"]["value"] == "disabled"
    dev = synth("dev")["file_processing"]
    bedrock = [s for s in _statements(dev, "document-processor") if s["Action"][0].startswith("bedrock:")]
    assert bedrock == [
        {
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel"],
            "Resource": [
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
            ],
        }
    ]
    for function in ("image-processor", "data-processor", "api"):
        assert not [a for a in _actions(dev, function) if a.startswith("bedrock:")]
    doc = next(f for f in resources(dev, "aws_lambda_function").values() if "document" in f["function_name"])
    assert doc["environment"]["variables"]["BEDROCK_MODEL_ID"] == "anthropic.claude-3-haiku-20240307-v1:0"
    assert bedrock_model_arn("eu-west-1", "amazon.titan-text-lite-v1") == (
        "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-text-lite-v1"
    )


def test_outputs_are_named_for_the_file_service(synth):
    outputs = synth("pr")["file_processing"]["output"]
    assert set(outputs) >= {
        "FileUploadBucketName",
        "FileMetadataTableName",
        "FileApiEndpoint",
        "FileImageProcessorFunctionName",
        "FileDocumentProcessorFunctionName",
        "FileDataProcessorFunctionName",
        "FileApiFunctionName",
    }
    assert all(name.startswith("File") for name in outputs)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"cors_allowed_origins": ["https://a.example/path"]},
            "must be '\\*' or scheme://host\\[:port\\] without a path",
        ),
        ({"cors_allowed_origins": ["*", "https://a.example"]}, "already allows every origin"),
        (
            {"api_rate_limit": 300, "api_burst_limit": 200},
            "api_burst_limit 200 is below api_rate_limit 300.0",
        ),
        (
            {"bedrock": {"model_id": "meta.llama3-8b"}},
            "is not an Anthropic Claude or Amazon Titan Text model id",
        ),
        ({"log_retention_days": 10}, "log_retention_days 10 is not accepted by CloudWatch Logs"),
        ({"noncurrent_version_expiration_days": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_settings_are_refused_with_a_reason(raw, message):
    with pytest.raises(ValidationError, match=message):
        FileProcessingSettings.model_validate(raw)


def test_rest_api_refuses_bad_paths_and_throttles():
    assert split_path("/files/{file_id}") == ["files", "{file_id}"]
    with pytest.raises(RestApiError, match="must start with '/' and name a resource"):
        split_path("/")
    with pytest.raises(RestApiError, match="segment 'a b' is not a name"):
        split_path("/a b")
    with pytest.raises(RestApiError, match="must be positive"):
        Throttle(rate_limit=0, burst_limit=1)
