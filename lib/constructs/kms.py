"""A customer-managed KMS key per stack, with rotation and an explicit key policy.

The key policy names every action (no ``kms:*``): the account's root
principal gets the administration and use actions (so IAM policies can
grant use of the key), and each AWS service principal that writes encrypted
data for the stack (CloudWatch Logs, CloudWatch alarms publishing to an
encrypted topic, ...) gets only the data-key actions it needs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from lib.constructs.forwarded import Forwarded
from lib.naming import ServiceName

#: What the account (and through IAM, its principals) may do with the key.
ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey",
    "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
    "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo",
    "kms:RetireGrant", "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
)  # fmt: skip
#: What a service principal writing encrypted data needs.
SERVICE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


def key_policy(*, account_id: str, region: str, service_principals: Sequence[str]) -> str:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": list(ADMIN_ACTIONS),
            "Resource": "*",  # in a key policy, "*" is this key
        }
    ]
    for service in sorted(set(service_principals)):
        stmt: dict[str, Any] = {
            "Sid": "Service" + "".join(p.capitalize() for p in service.split(".")[0].split("-")),
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": list(SERVICE_ACTIONS),
            "Resource": "*",
        }
        if service.startswith("logs."):
            stmt["Condition"] = {
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account_id}:*"}
            }
        else:
            stmt["Condition"] = {"StringEquals": {"aws:SourceAccount": account_id}}
        statements.append(stmt)
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


@dataclass(frozen=True)
class StackKeyProps:
    """What a :class:`StackKey` is made of: its alias is ``alias/<service's name>``."""

    service: ServiceName
    description: str
    #: Service principals (besides CloudWatch Logs) that write data encrypted with the key.
    service_principals: Sequence[str] = ()
    deletion_window_days: int = 7

    def __post_init__(self) -> None:
        if not 7 <= self.deletion_window_days <= 30:
            raise ValueError(f"deletion_window_days {self.deletion_window_days} is outside 7-30")


class StackKey(Construct):
    """One rotating symmetric key (with an alias) for a stack's data at rest."""

    def __init__(self, scope: Construct, id_: str, props: StackKeyProps) -> None:
        super().__init__(scope, id_)
        namer = props.service.namer
        self.key = KmsKey(
            self,
            "key",
            description=props.description,
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=key_policy(
                account_id=namer.account_id,
                region=namer.region,
                service_principals=[*props.service_principals, f"logs.{namer.region}.amazonaws.com"],
            ),
        )
        self.alias = KmsAlias(
            self, "alias", name=f"alias/{props.service.name()}", target_key_id=self.key.key_id
        )

    arn = Forwarded("key", "arn")
