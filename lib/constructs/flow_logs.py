"""VPC flow logs: a KMS-encrypted log group, a delivery role limited to it, the flow log.

A function, not a construct: it adds its three resources to ``scope`` under fixed ids
(``flow-logs``, ``flow-logs-role``, ``flow-log``), so the networks that call it keep
the logical ids (and the deployed resources) they had before it was extracted.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from constructs import Construct

from lib.constructs.iam import Grant, ServiceRole
from lib.naming import NameKind, Namer


def vpc_flow_logs(
    scope: Construct,
    *,
    namer: Namer,
    service: str,
    vpc_id: str,
    logs_key_arn: str,
    retention_days: int,
) -> FlowLog:
    """All traffic of ``vpc_id`` to the log group ``<service>-flow``, 60 s aggregation."""
    base = f"{service}-flow"
    group = CloudwatchLogGroup(
        scope,
        "flow-logs",
        name=namer.name(base, NameKind.LOG_GROUP),
        retention_in_days=retention_days,
        kms_key_id=logs_key_arn,
    )
    # Only this log group and its streams: the group exists, so no CreateLogGroup.
    role = ServiceRole(
        scope,
        "flow-logs-role",
        name=namer.name(base, NameKind.IAM_ROLE),
        service="vpc-flow-logs.amazonaws.com",
        source_account=namer.account_id,
        description="VPC flow logs delivery to its one log group",
        grants=[
            Grant(
                actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[group.arn, f"{group.arn}:*"],
            )
        ],
    )
    return FlowLog(
        scope,
        "flow-log",
        vpc_id=vpc_id,
        traffic_type="ALL",
        log_destination_type="cloud-watch-logs",
        log_destination=group.arn,
        iam_role_arn=role.arn,
        max_aggregation_interval=60,
        tags={"Name": namer.name(base)},
    )
