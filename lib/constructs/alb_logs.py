"""The S3 bucket an Application Load Balancer writes its access logs to.

ALB log delivery supports only SSE-S3 (AES256) on the target bucket, so this
bucket is not KMS-encrypted. Only the region's Elastic Load Balancing account
may write, only under ``<prefix>/AWSLogs/<account>/``; nothing may read over
plain HTTP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import S3BucketLifecycleConfiguration
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from lib.constructs.secure_bucket import whole_bucket_rule
from lib.naming import ServiceName


@dataclass(frozen=True)
class AlbLogsBucketProps:
    """The bucket ``service``'s name as an S3 bucket; the ALB writes under ``prefix``."""

    service: ServiceName
    prefix: str
    retention_days: int
    force_destroy: bool

    def __post_init__(self) -> None:
        if self.retention_days < 1:
            raise ValueError(
                f"retention_days {self.retention_days} must be at least 1 (S3 expires after whole days)"
            )


class AlbLogsBucket(Construct):
    """Versioned, private, AES256-encrypted, expiring after ``retention_days``."""

    def __init__(self, scope: Construct, id_: str, props: AlbLogsBucketProps) -> None:
        super().__init__(scope, id_)
        self.prefix = prefix = props.prefix
        namer = props.service.namer
        self.bucket = S3Bucket(
            self, "bucket", bucket=namer.bucket(props.service.service), force_destroy=props.force_destroy
        )
        bucket_id = self.bucket.id
        S3BucketPublicAccessBlock(
            self,
            "public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="AES256"
                    )
                )
            ],
        )
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        # The bucket holds nothing else: the rule covers all of it.
        expire = whole_bucket_rule(
            "expire-access-logs",
            expiration_days=props.retention_days,
            noncurrent_days=1,
            abort_multipart_days=1,
        )
        S3BucketLifecycleConfiguration(self, "lifecycle", bucket=bucket_id, rule=[expire])
        elb = DataAwsElbServiceAccount(self, "elb-account")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ElbWritesAccessLogs",
                    "Effect": "Allow",
                    "Principal": {"AWS": elb.arn},
                    "Action": "s3:PutObject",
                    "Resource": f"{self.bucket.arn}/{prefix}/AWSLogs/{namer.account_id}/*",
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",  # a Deny: every action, over plain HTTP
                    "Resource": [self.bucket.arn, f"{self.bucket.arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
        self.policy = S3BucketPolicy(
            self, "policy", bucket=bucket_id, policy=json.dumps(policy, separators=(",", ":"))
        )
