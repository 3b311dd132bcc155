"""A minimal real stack (a bucket and a table) that proves the pipeline path."""

from __future__ import annotations

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from constructs import Construct

from lib.naming import NameKind
from lib.stacks.base import StackContext, TapStack


class SmokeStack(TapStack):
    def __init__(self, scope: Construct, *, ctx: StackContext) -> None:
        super().__init__(scope, ctx=ctx)
        bucket = S3Bucket(self, "bucket", bucket=self.namer.bucket("smoke"), force_destroy=True)
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "bucket-sse",
            bucket=bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="AES256"
                    )
                )
            ],
        )
        S3BucketPublicAccessBlock(
            self,
            "bucket-pab",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        table = DynamodbTable(
            self,
            "table",
            name=self.namer.name("smoke", NameKind.DYNAMODB_TABLE),
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attribute=[DynamodbTableAttribute(name="pk", type="S")],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True),
        )
        TerraformOutput(self, "SmokeBucketName", value=bucket.bucket)
        TerraformOutput(self, "SmokeTableName", value=table.name)
