"""The smoke stack: a bucket and a table that accept real reads and writes."""

from __future__ import annotations

import uuid

import boto3
import pytest


def _require(outputs: dict, key: str) -> str:
    if key not in outputs:
        pytest.skip(f"{key} not deployed in this environment")
    return outputs[key]


def test_bucket_round_trip(outputs, region):
    bucket = _require(outputs, "SmokeBucketName")
    s3 = boto3.client("s3", region_name=region)
    key = f"it/{uuid.uuid4()}.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"hello"
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    default = enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"], "the stack's own key, not the AWS-managed one"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.delete_object(Bucket=bucket, Key=key)


def test_table_round_trip(outputs, region):
    table = _require(outputs, "SmokeTableName")
    ddb = boto3.client("dynamodb", region_name=region)
    pk = str(uuid.uuid4())
    ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "v": {"N": "1"}})
    item = ddb.get_item(TableName=table, Key={"pk": {"S": pk}})["Item"]
    assert item["v"] == {"N": "1"}
    pitr = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
