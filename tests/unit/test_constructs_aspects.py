"""The tagging and validation Aspects."""

from __future__ import annotations

import json

import pytest
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
)
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue

from lib.constructs.tagging import TaggingAspect, merge_tags
from lib.constructs.validation import ValidationAspect, policy_violations
from tests.unit.conftest import resources
from tests.unit.construct_harness import synth_stack

DEFAULTS = {
    "Environment": "dev",
    "EnvironmentSuffix": "dev",
    "Repository": "acme/tap",
    "CostCenter": "platform",
}


def test_merge_tags_keeps_own_values():
    assert merge_tags({"A": "1", "B": "2"}, {"B": "own"}) == {"A": "1", "B": "own"}
    assert merge_tags({"A": "1"}, None) == {"A": "1"}


def test_tagging_aspect_merges_without_overwriting():
    def build(stack):
        SqsQueue(stack, "plain", name="plain")
        SqsQueue(stack, "own", name="own", tags={"Environment": "special", "Team": "iot"})
        IamRolePolicy(stack, "untaggable", role="r", policy='{"Statement":[]}')

    stack = synth_stack(build, aspects=(TaggingAspect(DEFAULTS),))
    queues = resources(stack, "aws_sqs_queue")
    assert queues["plain"]["tags"] == DEFAULTS
    assert queues["own"]["tags"] == {**DEFAULTS, "Environment": "special", "Team": "iot"}
    assert "tags" not in resources(stack, "aws_iam_role_policy")["untaggable"]


def test_policy_violations_text():
    policy = json.dumps(
        {
            "Statement": [
                {"Action": ["s3:GetObject", "s3:Put*"]},
                {"NotAction": "iam:PassRole"},
                {"Action": "*"},
            ]
        }
    )
    assert policy_violations(policy) == [
        "statement 0 has wildcard action 's3:Put*'; name each action",
        "statement 1 uses NotAction; name the allowed actions instead",
        "statement 2 has wildcard action '*'; name each action",
    ]
    assert policy_violations('{"Statement":{"Action":"s3:GetObject"}}') == []
    assert policy_violations("${token}") == []


def test_valid_resources_synthesize():
    def build(stack):
        CloudwatchLogGroup(stack, "logs", name="ok", retention_in_days=30)
        IamPolicy(stack, "p", name="p", policy='{"Statement":[{"Action":"s3:GetObject","Resource":"*"}]}')

    stack = synth_stack(build, aspects=(ValidationAspect(),))
    assert resources(stack, "aws_cloudwatch_log_group")["logs"]["retention_in_days"] == 30


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda s: CloudwatchLogGroup(s, "forever", name="forever"),
            r"\[test/forever\] \[tap-validation\] log group has no retention_in_days",
        ),
        (
            lambda s: IamRolePolicy(
                s, "wild", role="r", policy='{"Statement":[{"Action":"dynamodb:*","Resource":"*"}]}'
            ),
            r"\[test/wild\] \[tap-validation\] statement 0 has wildcard action 'dynamodb:\*'",
        ),
        (
            lambda s: DataAwsIamPolicyDocument(
                s,
                "doc",
                statement=[DataAwsIamPolicyDocumentStatement(actions=["s3:*"], resources=["*"])],
            ),
            r"\[test/doc\] \[tap-validation\] policy document has wildcard action 's3:\*'",
        ),
    ],
)
def test_violations_fail_synth_with_the_path_and_reason(build, message):
    with pytest.raises(RuntimeError, match=message):
        synth_stack(build, aspects=(ValidationAspect(),))
