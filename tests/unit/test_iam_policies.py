"""Least privilege across every stack of every environment, checked on the synthesized JSON.

No Allow statement names a wildcard action. ``Resource: "*"`` appears only
with actions AWS does not scope to a resource, each listed below with its
reason, and in KMS key policies (where ``*`` means "this key").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

#: Actions that AWS only authorizes on ``Resource: "*"``, and why.
RESOURCE_STAR_ALLOWED: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions",
    **{
        f"logs:{a}": "CloudWatch Logs vended delivery (Step Functions logging) requires Resource *"
        for a in (
            "CreateLogDelivery",
            "DeleteLogDelivery",
            "DescribeLogGroups",
            "DescribeResourcePolicies",
            "GetLogDelivery",
            "ListLogDeliveries",
            "PutResourcePolicy",
            "UpdateLogDelivery",
        )
    },
    **{
        f"ec2:{a}": "Lambda VPC networking: ENI actions have no resource-level permissions"
        for a in (
            "CreateNetworkInterface",
            "DescribeNetworkInterfaces",
            "DeleteNetworkInterface",
            "AssignPrivateIpAddresses",
            "UnassignPrivateIpAddresses",
        )
    },
    "ecr:GetAuthorizationToken": "ECR registry authorization is account-wide",
    "cloudwatch:PutMetricData": "custom metrics have no resource-level permissions",
}
POLICY_RESOURCES = {
    "aws_iam_role_policy": "policy",
    "aws_iam_policy": "policy",
    "aws_s3_bucket_policy": "policy",
    "aws_sqs_queue_policy": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_ecr_repository_policy": "policy",
    "aws_kms_key": "policy",
    "aws_iam_role": "assume_role_policy",
}


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def statements(stack: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for rtype, attr in POLICY_RESOURCES.items():
        for name, resource in stack.get("resource", {}).get(rtype, {}).items():
            if attr in resource:
                for stmt in json.loads(resource[attr])["Statement"]:
                    yield rtype, name, stmt


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "pr"])
def test_no_wildcard_actions_and_star_resources_only_where_aws_requires(synth, env):
    checked = 0
    for stack_name, stack in synth(env).items():
        for rtype, name, stmt in statements(stack):
            checked += 1
            where = f"{env}/{stack_name} {rtype}.{name}"
            actions = _as_list(stmt.get("Action"))
            assert "NotAction" not in stmt, f"{where}: NotAction grants everything else"
            if stmt.get("Effect", "Allow") == "Deny":
                continue  # a wildcard in a Deny only narrows access (e.g. deny non-TLS s3:*)
            wild = [a for a in actions if "*" in a]
            assert not wild, f"{where}: wildcard action(s) {wild}"
            if "*" in _as_list(stmt.get("Resource")) and rtype != "aws_kms_key":
                unscoped = [a for a in actions if a not in RESOURCE_STAR_ALLOWED]
                assert not unscoped, f'{where}: Resource "*" with scopable action(s) {unscoped}'
    assert checked > 20, f"{env}: expected the stacks' policies to be found, checked {checked}"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_kms_key_policies_only_let_this_account_administer(synth, env):
    seen = 0
    for stack in synth(env).values():
        for rtype, name, stmt in statements(stack):
            if rtype != "aws_kms_key":
                continue
            seen += 1
            principals = stmt.get("Principal", {})
            aws = _as_list(principals.get("AWS")) if isinstance(principals, dict) else [principals]
            assert "*" not in aws, f"{name}: key policy open to every principal"
    assert seen, "every stack with data at rest has a KMS key policy"
