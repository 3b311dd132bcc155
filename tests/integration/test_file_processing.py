"""The deployed file-processing service (seed 004): bucket configuration, suffix
notifications, an upload becoming a metadata record, and presigned URLs that work.

Processors and the API function run through ``lambda_invoke.invoke`` with the S3
notification / API Gateway proxy events AWS sends them. On AWS the upload also
fires the real notification; the record is keyed by object, so both write the same.
"""

from __future__ import annotations

import json
import struct
import urllib.request
import uuid
import zlib

import boto3
import pytest

from lib.config import load_environment
from lib.config.settings.file_processing import FileProcessingSettings
from tests.integration.lambda_invoke import invoke

OUTPUT_KEYS = (
    "FileUploadBucketName",
    "FileMetadataTableName",
    "FileApiId",
    "FileImageProcessorFunctionName",
    "FileDocumentProcessorFunctionName",
    "FileDataProcessorFunctionName",
    "FileApiFunctionName",
)
SUFFIX_ROUTES = {
    ".jpg": "FileImageProcessorFunctionName",
    ".png": "FileImageProcessorFunctionName",
    ".pdf": "FileDocumentProcessorFunctionName",
    ".txt": "FileDocumentProcessorFunctionName",
    ".csv": "FileDataProcessorFunctionName",
    ".json": "FileDataProcessorFunctionName",
}


@pytest.fixture(scope="module")
def files(outputs):
    missing = [k for k in OUTPUT_KEYS if k not in outputs]
    if missing:
        pytest.skip(f"file_processing is not deployed (no {', '.join(missing)})")
    return outputs


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"\0" * 16
    )


def upload(files, region: str, name: str, body: bytes) -> str:
    key = f"uploads/it-{uuid.uuid4().hex}/{name}"
    boto3.client("s3", region_name=region).put_object(
        Bucket=files["FileUploadBucketName"], Key=key, Body=body
    )
    return key


def s3_event(bucket: str, key: str, size: int) -> dict:
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": size}},
            }
        ]
    }


def api(files, region: str, method: str, resource: str, *, path=None, body=None):
    event = {
        "httpMethod": method,
        "resource": resource,
        "headers": {"Origin": "https://app.example.org"},
        "pathParameters": path,
        "queryStringParameters": None,
        "body": json.dumps(body) if body is not None else None,
    }
    result = invoke(files["FileApiFunctionName"], event, region=region)
    assert result.ok, result.payload
    return result.payload["statusCode"], result.body(), result.payload["headers"]


def process(files, region: str, key: str, size: int) -> dict:
    suffix = "." + key.rsplit(".", 1)[1]
    result = invoke(
        files[SUFFIX_ROUTES[suffix]], s3_event(files["FileUploadBucketName"], key, size), region=region
    )
    assert result.ok, result.payload
    return result.payload


def test_bucket_is_versioned_encrypted_private_with_expiry_and_cors(files, region):
    s3 = boto3.client("s3", region_name=region)
    bucket = files["FileUploadBucketName"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]
    assert sorted(cors["AllowedMethods"]) == ["GET", "HEAD", "PUT"]
    # a second write keeps the first as a non-current version
    key = upload(files, region, "v.txt", b"one")
    s3.put_object(Bucket=bucket, Key=key, Body=b"two")
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert len(versions) == 2
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"two"


def test_notifications_route_each_suffix_to_its_processor(files, region):
    config = boto3.client("s3", region_name=region).get_bucket_notification_configuration(
        Bucket=files["FileUploadBucketName"]
    )
    routes = {}
    for entry in config["LambdaFunctionConfigurations"]:
        rules = entry["Filter"]["Key"]["FilterRules"]
        suffix = next(r["Value"] for r in rules if r["Name"].lower() == "suffix")
        routes[suffix] = entry["LambdaFunctionArn"].split(":")[-1]
        assert entry["Events"] == ["s3:ObjectCreated:*"]
    assert routes == {suffix: files[key] for suffix, key in SUFFIX_ROUTES.items()}


def test_an_upload_becomes_a_metadata_record_readable_through_the_api(files, region):
    image = png(64, 32)
    key = upload(files, region, "pic.png", image)
    summary = process(files, region, key, len(image))
    assert len(summary["processed"]) == 1
    file_id = summary["processed"][0]
    record = (
        boto3.resource("dynamodb", region_name=region)
        .Table(files["FileMetadataTableName"])
        .get_item(Key={"file_id": file_id})["Item"]
    )
    assert record["kind"] == "image"
    assert record["status"] == "PROCESSED"
    assert (record["metadata"]["width"], record["metadata"]["height"]) == (64, 32)
    status, body, _ = api(files, region, "GET", "/files/{file_id}", path={"file_id": file_id})
    assert status == 200
    assert body["key"] == key


def test_a_data_file_and_an_unknown_suffix(files, region):
    content = b"a,b\n1,2\n3,4\n"
    key = upload(files, region, "table.csv", content)
    summary = process(files, region, key, len(content))
    file_id = summary["processed"][0]
    record = (
        boto3.resource("dynamodb", region_name=region)
        .Table(files["FileMetadataTableName"])
        .get_item(Key={"file_id": file_id})["Item"]
    )
    assert record["metadata"]["columns"] == ["a", "b"]
    assert record["metadata"]["row_count"] == 2
    # an object a processor is not for is skipped, not recorded
    other = upload(files, region, "anim.gif", b"GIF89a")
    result = invoke(
        files["FileImageProcessorFunctionName"],
        s3_event(files["FileUploadBucketName"], other, 6),
        region=region,
    )
    assert result.payload["skipped"] == [other]


def test_presigned_download_and_upload_urls_work(files, region):
    text = f"hello {uuid.uuid4().hex}".encode()
    key = upload(files, region, "note.txt", text)
    file_id = process(files, region, key, len(text))["processed"][0]
    status, body, headers = api(
        files, region, "GET", "/files/{file_id}/download-url", path={"file_id": file_id}
    )
    assert status == 200
    assert "Access-Control-Allow-Origin" in headers
    with urllib.request.urlopen(body["url"], timeout=30) as resp:  # noqa: S310 - a presigned https/http URL
        assert resp.read() == text

    status, grant, _ = api(
        files, region, "POST", "/uploads", body={"file_name": "up.json", "content_type": "application/json"}
    )
    assert status == 201
    request = urllib.request.Request(  # noqa: S310
        grant["url"], data=b'{"x": 1}', method="PUT", headers=grant["headers"]
    )
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
        assert resp.status == 200
    head = boto3.client("s3", region_name=region).head_object(
        Bucket=files["FileUploadBucketName"], Key=grant["key"]
    )
    assert head["ContentLength"] == 8


def test_api_stage_is_throttled(files, region):
    apigw = boto3.client("apigateway", region_name=region)
    stage = apigw.get_stage(restApiId=files["FileApiId"], stageName="v1")
    settings = stage["methodSettings"]["*/*"]
    assert settings["throttlingRateLimit"] == 100.0
    assert settings["throttlingBurstLimit"] == 200
    assert stage["accessLogSettings"]["destinationArn"].split(":log-group:")[1].startswith("/aws/apigateway/")
    resources = {r["path"]: r for r in apigw.get_resources(restApiId=files["FileApiId"])["items"]}
    assert {"/files", "/files/{file_id}", "/files/{file_id}/download-url", "/uploads"} <= set(resources)


def test_functions_have_reserved_concurrency_and_the_environments_log_retention(files, region):
    env = files["FileApiFunctionName"].split("-", 1)[0]  # names are <env>-<region>-<service>-<suffix>
    settings = load_environment(env).settings_for("file_processing")
    assert isinstance(settings, FileProcessingSettings)
    lam = boto3.client("lambda", region_name=region)
    logs = boto3.client("logs", region_name=region)
    for key, group in (("FileImageProcessorFunctionName", "processors"), ("FileApiFunctionName", "api")):
        name = files[key]
        reserved = lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"]
        assert reserved == getattr(settings.reserved_concurrency, group)
        log_group = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"][0]
        assert log_group["retentionInDays"] == settings.log_retention_days  # 7 by default, 30 in prod
