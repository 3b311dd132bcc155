"""An S3 bucket with the controls every bucket here needs, in one place.

SSE-KMS with a bucket key, all public access blocked, TLS-only bucket policy,
versioning, a lifecycle (incomplete multipart uploads aborted, non-current
versions expired) and optional CORS. Notifications are not part of it: a
bucket has exactly one notification configuration, which the stack owns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_cors_configuration import (
    S3BucketCorsConfiguration,
    S3BucketCorsConfigurationCorsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
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

from lib.constructs.forwarded import Forwarded

CORS_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD"})


@dataclass(frozen=True)
class BucketCors:
    """Browser access: which origins may use which methods."""

    allowed_origins: Sequence[str]
    allowed_methods: Sequence[str]
    allowed_headers: Sequence[str] = ("*",)
    expose_headers: Sequence[str] = ("ETag",)
    max_age_seconds: int = 3000

    def __post_init__(self) -> None:
        if not self.allowed_origins:
            raise ValueError("CORS needs at least one allowed origin")
        bad = sorted(set(self.allowed_methods) - CORS_METHODS)
        if bad or not self.allowed_methods:
            raise ValueError(
                f"CORS methods must be among {', '.join(sorted(CORS_METHODS))}; got {bad or 'none'}"
            )


def tls_only_policy(bucket_arn: str) -> str:
    """Deny every request that does not use TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",  # a Deny: every action, so no request goes through unencrypted
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
        separators=(",", ":"),
    )


def whole_bucket_rule(
    id_: str,
    *,
    expiration_days: int | None = None,
    noncurrent_days: int | None = None,
    abort_multipart_days: int | None = None,
    glacier_days: int | None = None,
) -> S3BucketLifecycleConfigurationRule:
    """An enabled lifecycle rule over every object (an empty prefix): expire objects, expire
    noncurrent versions, abort incomplete multipart uploads, move objects to Glacier after
    so many days (each only where given)."""
    expire = S3BucketLifecycleConfigurationRuleExpiration
    expire_noncurrent = S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration
    abort = S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload
    return S3BucketLifecycleConfigurationRule(
        id=id_,
        status="Enabled",
        filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
        expiration=None if expiration_days is None else [expire(days=expiration_days)],
        noncurrent_version_expiration=(
            None if noncurrent_days is None else [expire_noncurrent(noncurrent_days=noncurrent_days)]
        ),
        abort_incomplete_multipart_upload=(
            None if abort_multipart_days is None else [abort(days_after_initiation=abort_multipart_days)]
        ),
        transition=(
            None
            if glacier_days is None
            else [S3BucketLifecycleConfigurationRuleTransition(days=glacier_days, storage_class="GLACIER")]
        ),
    )


@dataclass(frozen=True)
class SecureBucketProps:
    """The bucket ``name``, encrypted with ``kms_key_arn``; noncurrent versions expire after
    ``noncurrent_expiration_days``, current objects move to Glacier after
    ``glacier_transition_days`` (if given)."""

    name: str
    kms_key_arn: str
    noncurrent_expiration_days: int
    #: Empty the bucket on destroy (else Terraform refuses to delete a non-empty bucket).
    force_destroy: bool = True
    cors: BucketCors | None = None
    abort_multipart_days: int = 7
    glacier_transition_days: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.noncurrent_expiration_days <= 3650:
            raise ValueError(
                f"noncurrent_expiration_days {self.noncurrent_expiration_days} is outside 1-3650"
            )


class SecureBucket(Construct):
    def __init__(self, scope: Construct, id_: str, props: SecureBucketProps) -> None:
        super().__init__(scope, id_)
        self.bucket = S3Bucket(self, "bucket", bucket=props.name, force_destroy=props.force_destroy)
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=self.bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=self.bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms", kms_master_key_id=props.kms_key_arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
        )
        self.public_access_block = S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketPolicy(
            self,
            "policy",
            bucket=self.bucket.id,
            policy=tls_only_policy(self.bucket.arn),
            depends_on=[self.public_access_block],
        )
        rules = [
            whole_bucket_rule(
                "expire-noncurrent-versions",
                noncurrent_days=props.noncurrent_expiration_days,
                abort_multipart_days=props.abort_multipart_days,
            )
        ]
        if props.glacier_transition_days is not None:
            rules.append(whole_bucket_rule("archive-to-glacier", glacier_days=props.glacier_transition_days))
        S3BucketLifecycleConfiguration(self, "lifecycle", bucket=self.bucket.id, rule=rules)
        cors = props.cors
        if cors is not None:
            S3BucketCorsConfiguration(
                self,
                "cors",
                bucket=self.bucket.id,
                cors_rule=[
                    S3BucketCorsConfigurationCorsRule(
                        allowed_origins=list(cors.allowed_origins),
                        allowed_methods=sorted(cors.allowed_methods),
                        allowed_headers=list(cors.allowed_headers),
                        expose_headers=list(cors.expose_headers),
                        max_age_seconds=cors.max_age_seconds,
                    )
                ],
            )

    name = Forwarded("bucket", "bucket")
    arn = Forwarded("bucket", "arn")
    id = Forwarded("bucket", "id")

    def objects_arn(self, prefix: str = "") -> str:
        """ARN of the objects under ``prefix`` (``arn:...:bucket/prefix*``)."""
        return f"{self.bucket.arn}/{prefix}*"
