"""Grants, alarms, SSM exports and the stack key."""

from __future__ import annotations

import json

import pytest

from lib.constructs.alarms import Signal, Watch, lambda_watches, queue_depth, watch
from lib.constructs.iam import Grant, GrantError, ServiceRole, assume_role_policy, policy_document
from lib.constructs.kms import ADMIN_ACTIONS, StackKey, StackKeyProps
from lib.constructs.ssm import SsmExports, SsmExportsProps, secure_parameter
from tests.unit.conftest import only, resources
from tests.unit.construct_harness import NAMER, synth_stack

TOPIC = "arn:aws:sns:us-east-1:111111111111:alerts"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actions": ["s3:*"], "resources": ["arn:aws:s3:::b"]}, "wildcard action 's3:\\*' is not allowed"),
        ({"actions": ["*"], "resources": ["arn"]}, "wildcard action '\\*' is not allowed"),
        ({"actions": ["GetObject"], "resources": ["arn"]}, "action 'GetObject' is not of the form"),
        ({"actions": [], "resources": ["arn"]}, "a grant needs at least one action"),
        ({"actions": ["s3:GetObject"], "resources": []}, "grant of s3:GetObject names no resource"),
        ({"actions": ["s3:GetObject"], "resources": ["*"]}, "on resource '\\*' needs a reason"),
    ],
)
def test_bad_grants_are_refused(kwargs, message):
    with pytest.raises(GrantError, match=message):
        Grant(**kwargs)


def test_policy_document_is_compact_and_deduplicated():
    doc = policy_document(
        [
            Grant(actions=["s3:PutObject", "s3:GetObject", "s3:GetObject"], resources=["a", "a", "b"]),
            Grant(
                actions=["xray:PutTraceSegments"],
                resources=["*"],
                reason="no resource-level permissions",
                conditions={"StringEquals": {"aws:SourceAccount": "1"}},
            ),
        ]
    )
    assert " " not in doc
    assert json.loads(doc) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["a", "b"]},
            {
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments"],
                "Resource": ["*"],
                "Condition": {"StringEquals": {"aws:SourceAccount": "1"}},
            },
        ],
    }
    with pytest.raises(GrantError, match="a policy needs at least one grant"):
        policy_document([])


def test_assume_role_policy_with_source_account():
    doc = json.loads(assume_role_policy("states.amazonaws.com", source_account="111111111111"))
    assert doc["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}
    assert doc["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


@pytest.fixture(scope="module")
def helpers_stack():
    def build(stack):
        ServiceRole(
            stack,
            "sfn",
            name="sfn-role",
            service="states.amazonaws.com",
            grants=[Grant(actions=["lambda:InvokeFunction"], resources=["arn:fn"])],
        )
        watches = {
            **lambda_watches("fn-alarms", service="ingest", function_name="fn-name"),
            "dlq": Watch(queue_depth("dlq"), "dlq-depth", "DLQ not empty", period_seconds=60),
        }
        watch(stack, namer=NAMER, topic_arn=TOPIC, watches=watches)
        exports = {"table-name": "t", "bucket-name": "b"}
        SsmExports(stack, "exports", SsmExportsProps(namer=NAMER, system="data", values=exports))
        StackKey(
            stack,
            "key",
            StackKeyProps(
                service=NAMER.for_service("data"),
                description="data key",
                service_principals=["sns.amazonaws.com"],
            ),
        )
        secure_parameter(
            stack,
            "secret",
            name="/tap/dev/x/api-key",
            value="${token}",
            kms_key_arn="arn:key",
            description="api key",
        )

    return synth_stack(build)


def test_service_role(helpers_stack):
    role = only(helpers_stack, "aws_iam_role")
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Principal"] == {
        "Service": "states.amazonaws.com"
    }
    policy = json.loads(only(helpers_stack, "aws_iam_role_policy")["policy"])
    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": ["arn:fn"]}
    ]


def test_lambda_alarms(helpers_stack):
    alarms = resources(helpers_stack, "aws_cloudwatch_metric_alarm")
    by_name = {a["alarm_name"]: a for a in alarms.values()}
    assert set(alarms) == {"fn-alarms-errors", "fn-alarms-throttles", "dlq"}
    assert set(by_name) == {
        "dev-use1-ingest-errors-dev",
        "dev-use1-ingest-throttles-dev",
        "dev-use1-dlq-depth-dev",
    }
    errors = by_name["dev-use1-ingest-errors-dev"]
    assert errors["namespace"] == "AWS/Lambda"
    assert errors["metric_name"] == "Errors"
    assert errors["dimensions"] == {"FunctionName": "fn-name"}
    assert errors["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert errors["threshold"] == 1
    assert errors["alarm_actions"] == [TOPIC]
    assert errors["ok_actions"] == [TOPIC]
    assert errors["treat_missing_data"] == "notBreaching"
    assert errors["alarm_description"] == "Lambda fn-name: Errors >= 1 in 5 minutes"
    assert by_name["dev-use1-dlq-depth-dev"]["statistic"] == "Maximum"
    assert by_name["dev-use1-dlq-depth-dev"]["period"] == 60


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"comparison": "Bigger"}, "comparison 'Bigger' is not one of"),
        ({"period_seconds": 90}, "period_seconds 90 must be 10, 30 or a multiple of 60"),
    ],
)
def test_alarm_inputs_are_checked(bad, message):
    with pytest.raises(ValueError, match=message):
        Watch(Signal("n", "m"), "n", "d", **bad)


def test_ssm_exports_and_secure_parameter(helpers_stack):
    params = {p["name"]: p for p in resources(helpers_stack, "aws_ssm_parameter").values()}
    assert params["/tap/dev/data/table-name"]["type"] == "String"
    assert params["/tap/dev/data/table-name"]["value"] == "t"
    assert params["/tap/dev/data/bucket-name"]["value"] == "b"
    secret = params["/tap/dev/x/api-key"]
    assert secret["type"] == "SecureString"
    assert secret["key_id"] == "arn:key"


def test_ssm_exports_need_values():
    with pytest.raises(ValueError, match="SSM exports of 'data' hold no values"):
        SsmExportsProps(namer=NAMER, system="data", values={})


def test_stack_key_policy_names_every_action(helpers_stack):
    key = only(helpers_stack, "aws_kms_key")
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 7
    policy = json.loads(key["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"AccountAdministration", "ServiceLogs", "ServiceSns"}
    assert by_sid["AccountAdministration"]["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert by_sid["AccountAdministration"]["Action"] == list(ADMIN_ACTIONS)
    assert by_sid["ServiceLogs"]["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert by_sid["ServiceLogs"]["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:111111111111:*"}
    }
    assert all("*" not in a for s in policy["Statement"] for a in s["Action"])
    assert only(helpers_stack, "aws_kms_alias")["name"] == "alias/dev-use1-data-dev"


def test_stack_key_deletion_window_checked():
    with pytest.raises(ValueError, match="deletion_window_days 3 is outside 7-30"):
        StackKeyProps(service=NAMER.for_service("x"), description="d", deletion_window_days=3)
