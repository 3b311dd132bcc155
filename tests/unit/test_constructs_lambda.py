"""The Lambda function construct: code sources, log group, role, guard rails."""

from __future__ import annotations

import json

import pytest

from lib.constructs.iam import Grant
from lib.constructs.lambda_function import (
    LambdaFunction,
    LambdaFunctionError,
    LambdaFunctionProps,
    LambdaImage,
    LambdaZip,
    VpcPlacement,
)
from lib.constructs.packaging import LambdaPackage
from tests.unit.conftest import only, resources
from tests.unit.construct_harness import NAMER, synth_stack

PACKAGE = LambdaPackage(filename="assets/fn/abc/fn.zip", source_code_hash="aGFzaA==", local_path=None)  # type: ignore[arg-type]
TABLE = "arn:aws:dynamodb:us-east-1:111111111111:table/t"


def statements(stack: dict) -> list[dict]:
    return json.loads(only(stack, "aws_iam_role_policy")["policy"])["Statement"]


@pytest.fixture(scope="module")
def zip_stack():
    def build(stack):
        props = LambdaFunctionProps(
            service=NAMER.for_service("ingest"),
            code=LambdaZip(package=PACKAGE, handler="handler.handler", runtime="python3.12"),
            log_retention_days=30,
            grants=[Grant(actions=["dynamodb:PutItem"], resources=[TABLE])],
            environment={"TABLE_NAME": "t"},
            reserved_concurrency=5,
            dead_letter_queue_arn="arn:aws:sqs:us-east-1:111111111111:dlq",
            vpc=VpcPlacement(subnet_ids=["subnet-1", "subnet-2"], security_group_ids=["sg-1"]),
            layers=["arn:aws:lambda:us-east-1:111111111111:layer:shared:1"],
            kms_key_arn="arn:aws:kms:us-east-1:111111111111:key/k",
            memory_mb=512,
            timeout_seconds=60,
        )
        LambdaFunction(stack, "fn", props)

    return synth_stack(build)


@pytest.fixture(scope="module")
def image_stack():
    def build(stack):
        props = LambdaFunctionProps(
            service=NAMER.for_service("worker"),
            code=LambdaImage(
                image_uri="111111111111.dkr.ecr.us-east-1.amazonaws.com/repo:1", command=["app.handler"]
            ),
            log_retention_days=7,
            architecture="x86_64",
            tracing=False,
        )
        LambdaFunction(stack, "fn", props)

    return synth_stack(build)


def test_zip_function_properties(zip_stack):
    fn = only(zip_stack, "aws_lambda_function")
    assert fn["function_name"] == "dev-use1-ingest-dev"
    assert fn["architectures"] == ["arm64"]
    assert fn["package_type"] == "Zip"
    assert fn["runtime"] == "python3.12"
    assert fn["handler"] == "handler.handler"
    assert fn["filename"] == "assets/fn/abc/fn.zip"
    assert fn["source_code_hash"] == "aGFzaA=="
    assert fn["tracing_config"] == {"mode": "Active"}
    assert fn["reserved_concurrent_executions"] == 5
    assert fn["memory_size"] == 512
    assert fn["timeout"] == 60
    assert fn["environment"] == {"variables": {"TABLE_NAME": "t"}}
    assert fn["dead_letter_config"] == {"target_arn": "arn:aws:sqs:us-east-1:111111111111:dlq"}
    assert fn["vpc_config"] == {"subnet_ids": ["subnet-1", "subnet-2"], "security_group_ids": ["sg-1"]}
    assert fn["layers"] == ["arn:aws:lambda:us-east-1:111111111111:layer:shared:1"]
    assert fn["kms_key_arn"] == "arn:aws:kms:us-east-1:111111111111:key/k"


def test_log_group_is_created_before_the_function(zip_stack):
    ((log_id, log),) = resources(zip_stack, "aws_cloudwatch_log_group").items()
    assert log["name"] == "/aws/lambda/dev-use1-ingest-dev"
    assert log["retention_in_days"] == 30
    fn = only(zip_stack, "aws_lambda_function")
    assert f"aws_cloudwatch_log_group.{log_id}" in fn["depends_on"]
    (policy_id,) = resources(zip_stack, "aws_iam_role_policy")
    assert f"aws_iam_role_policy.{policy_id}" in fn["depends_on"]


def test_role_trusts_lambda_only(zip_stack):
    role = only(zip_stack, "aws_iam_role")
    assert role["name"] == "dev-use1-ingest-dev"
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


def test_role_policy_is_exactly_the_needed_grants(zip_stack):
    (log_id,) = resources(zip_stack, "aws_cloudwatch_log_group")
    got = [(s["Action"], s["Resource"]) for s in statements(zip_stack)]
    assert got == [
        (["logs:CreateLogStream", "logs:PutLogEvents"], [f"${{aws_cloudwatch_log_group.{log_id}.arn}}:*"]),
        (["xray:PutTelemetryRecords", "xray:PutTraceSegments"], ["*"]),
        (["sqs:SendMessage"], ["arn:aws:sqs:us-east-1:111111111111:dlq"]),
        (["kms:Decrypt"], ["arn:aws:kms:us-east-1:111111111111:key/k"]),
        (
            [
                "ec2:AssignPrivateIpAddresses",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:UnassignPrivateIpAddresses",
            ],
            ["*"],
        ),
        (["dynamodb:PutItem"], [TABLE]),
    ]
    assert all(s["Effect"] == "Allow" for s in statements(zip_stack))


def test_image_function(image_stack):
    fn = only(image_stack, "aws_lambda_function")
    assert fn["package_type"] == "Image"
    assert fn["image_uri"] == "111111111111.dkr.ecr.us-east-1.amazonaws.com/repo:1"
    assert fn["image_config"] == {"command": ["app.handler"]}
    assert fn["architectures"] == ["x86_64"]
    assert fn["tracing_config"] == {"mode": "PassThrough"}
    for absent in ("handler", "runtime", "filename", "layers", "vpc_config", "dead_letter_config"):
        assert absent not in fn
    actions = [s["Action"] for s in statements(image_stack)]
    assert actions == [["logs:CreateLogStream", "logs:PutLogEvents"]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"architecture": "sparc"}, "architecture 'sparc' is not one of arm64, x86_64"),
        ({"memory_mb": 64}, "memory_mb 64 is outside 128-10240"),
        ({"timeout_seconds": 901}, "timeout_seconds 901 is outside 1-900"),
        ({"reserved_concurrency": -1}, "reserved_concurrency -1 is negative"),
        ({"log_retention_days": 10}, "log_retention_days 10 is not a CloudWatch retention value"),
        ({"environment": {"AWS_REGION": "x"}}, "environment variable 'AWS_REGION' is reserved"),
        ({"environment": {"1BAD": "x"}}, "environment variable name '1BAD' is invalid"),
        (
            {"code": LambdaImage(image_uri="repo:1"), "layers": ["arn:layer"]},
            "container image functions cannot use layers",
        ),
    ],
)
def test_invalid_inputs_are_refused(kwargs, message):
    args = {
        "service": NAMER.for_service("bad"),
        "code": LambdaZip(package=PACKAGE),
        "log_retention_days": 30,
        **kwargs,
    }
    with pytest.raises(LambdaFunctionError, match=message):
        LambdaFunctionProps(**args)
