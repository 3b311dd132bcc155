"""A customer-managed KMS key for CloudWatch Logs, and log groups encrypted with it."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from lib.naming import Namer

#: Administration of the key, granted to the account (and so to IAM policies).
#: No data-plane action: administrators cannot decrypt log events with it.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]

#: What CloudWatch Logs needs to encrypt and decrypt a log group's events.
LOGS_KEY_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]


class LogsKey(Construct):
    """A rotating CMK that CloudWatch Logs may use only for this account's log groups."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        namer: Namer,
        service: str,
        deletion_window_days: int,
    ) -> None:
        super().__init__(scope, id)
        account, region = namer.account_id, namer.region
        policy = DataAwsIamPolicyDocument(
            self,
            "policy",
            statement=[
                # The account administers the key through IAM policies (the key
                # policy must allow this, or the key becomes unmanageable). The
                # actions are named instead of AWS's default "kms:*".
                DataAwsIamPolicyDocumentStatement(
                    sid="AccountAdministers",
                    actions=KEY_ADMIN_ACTIONS,
                    resources=["*"],  # in a key policy "*" means this key
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="AWS", identifiers=[f"arn:aws:iam::{account}:root"]
                        )
                    ],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="CloudWatchLogsEncrypts",
                    actions=LOGS_KEY_ACTIONS,
                    resources=["*"],  # in a key policy "*" means this key
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=[f"logs.{region}.amazonaws.com"]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike",
                            variable="kms:EncryptionContext:aws:logs:arn",
                            values=[f"arn:aws:logs:{region}:{account}:log-group:*"],
                        )
                    ],
                ),
            ],
        )
        self.key = KmsKey(
            self,
            "key",
            description=f"CloudWatch Logs encryption for {namer.name(service)}",
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window_days,
            policy=policy.json,
        )
        KmsAlias(self, "alias", name=f"alias/{namer.name(service)}", target_key_id=self.key.key_id)

    @property
    def arn(self) -> str:
        return self.key.arn

    def log_group(self, scope: Construct, id: str, *, name: str, retention_days: int) -> CloudwatchLogGroup:
        """A log group in ``scope`` encrypted with this key."""
        return CloudwatchLogGroup(
            scope,
            id,
            name=name,
            retention_in_days=retention_days,
            kms_key_id=self.key.arn,
        )
