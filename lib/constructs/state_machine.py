"""A Step Functions state machine with its log group and its service role.

The role's one policy is the caller's grants (what the workflow's tasks call) plus
what every state machine needs: CloudWatch Logs vended-log delivery and X-Ray, two
API families with no resource-level permissions.

Like :class:`~lib.constructs.foundation.SystemFoundation`, :class:`StateMachine` is
not a construct scope: it creates ``<id>-logs``, ``<id>-role`` and ``<id>`` directly in
the scope it is given, so the resources keep the Terraform addresses a stack gave them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.sfn_state_machine import (
    SfnStateMachine,
    SfnStateMachineLoggingConfiguration,
    SfnStateMachineTracingConfiguration,
)
from constructs import Construct

from lib.constructs.forwarded import Forwarded
from lib.constructs.iam import Grant, ServiceRole
from lib.naming import NameKind, ServiceName

#: Step Functions delivers its logs through these (vended logs).
LOG_DELIVERY = Grant(
    actions=[
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
    ],
    resources=["*"],
    reason="CloudWatch Logs vended-log delivery APIs have no resource-level permissions",
)
#: Active tracing sends segments to X-Ray.
TRACING = Grant(
    actions=[
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ],
    resources=["*"],
    reason="X-Ray trace APIs have no resource-level permissions",
)


@dataclass(frozen=True)
class StateMachineProps:
    """A state machine named after ``service`` running ``definition`` (JSON)."""

    service: ServiceName
    definition: str
    #: What the workflow's tasks call (logs delivery and X-Ray are added).
    grants: Sequence[Grant]
    role_description: str
    #: Encrypts the log group.
    kms_key_arn: str
    log_retention_days: int
    type_: Literal["STANDARD", "EXPRESS"] = "STANDARD"
    log_level: Literal["ALL", "ERROR", "FATAL"] = "ERROR"
    include_execution_data: bool = True
    #: Create the machine only after the role's policy (Step Functions checks log delivery).
    wait_for_role_policy: bool = False


class StateMachine:
    """``service``'s name as a state machine (traced), its role and its log group
    ``/aws/vendedlogs/states/<name>`` (encrypted, with a retention)."""

    def __init__(self, scope: Construct, id_: str, props: StateMachineProps) -> None:
        service = props.service
        self.name = service.name(NameKind.STATE_MACHINE)
        self.log_group = CloudwatchLogGroup(
            scope,
            f"{id_}-logs",
            name=f"/aws/vendedlogs/states/{service.name(NameKind.LOG_GROUP)}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        self.role = ServiceRole(
            scope,
            f"{id_}-role",
            name=service.name(NameKind.IAM_ROLE),
            service="states.amazonaws.com",
            source_account=service.namer.account_id,
            description=props.role_description,
            grants=[*props.grants, LOG_DELIVERY, TRACING],
        )
        self.machine = SfnStateMachine(
            scope,
            id_,
            name=self.name,
            role_arn=self.role.arn,
            type=props.type_,
            definition=props.definition,
            logging_configuration=SfnStateMachineLoggingConfiguration(
                log_destination=f"{self.log_group.arn}:*",
                include_execution_data=props.include_execution_data,
                level=props.log_level,
            ),
            tracing_configuration=SfnStateMachineTracingConfiguration(enabled=True),
            # Step Functions checks on creation that the role may deliver the logs.
            depends_on=[self.role.policy] if props.wait_for_role_policy else None,
        )

    arn = Forwarded("machine", "arn")
