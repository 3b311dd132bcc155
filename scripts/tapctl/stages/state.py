"""The state bucket: ``scripts/tap bootstrap`` creates it; destroy and the janitor read it.

One S3 bucket per environment holds every stack's state (``<suffix>/<stack>.tfstate``)
and its native lock object (``.tflock``): versioned, encrypted with the AWS-managed KMS
key and a bucket key, public access blocked.
"""

from __future__ import annotations

from typing import Any

from scripts.tapctl.stages.session import Session


def bootstrap(session: Session) -> str:
    """Create the state bucket: versioned, encrypted, public access blocked."""
    state = session.target.env.state
    s3 = session.state_client()
    try:
        s3.head_bucket(Bucket=state.bucket)
        created = False
    except s3.exceptions.ClientError:
        params: dict[str, Any] = {"Bucket": state.bucket}
        if state.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": state.region}
        s3.create_bucket(**params)
        created = True
    s3.put_bucket_versioning(Bucket=state.bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=state.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=state.bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    return f"{'created' if created else 'verified'} s3://{state.bucket} ({state.region})"


def command(session: Session) -> int:
    print(bootstrap(session))
    return 0


def bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        return False
    return True


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    resp = s3.list_objects_v2(Bucket=bucket, Prefix=key)
    return any(o["Key"] == key for o in resp.get("Contents", []))


def delete_versions(s3: Any, bucket: str, key: str) -> int:
    """Remove every version and delete marker of exactly ``key``; return how many."""
    versions = [  # listed in full first: deleting while paging would move the page markers
        item["VersionId"]
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
        for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
        if item["Key"] == key
    ]
    for version in versions:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
    return len(versions)


def delete_all_versions(s3: Any, bucket: str, key: str) -> int:
    """Remove every version and delete marker of ``key`` and of its lock object; return how many."""
    return delete_versions(s3, bucket, key) + delete_versions(s3, bucket, f"{key}.tflock")
