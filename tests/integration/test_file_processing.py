"""The deployed file-processing service (seed 004): bucket configuration, suffix
notifications, an upload becoming a metadata record, and presigned URLs that work.

Everything goes the way a client goes: the API (SigV4-signed, the methods are
AWS_IAM) hands out a presigned upload URL, the upload fires the bucket's
notification for its suffix, the processor writes the metadata record, and the
API reads it back.
"""

from __future__ import annotations

import hashlib
import urllib.request
import uuid
from typing import Any

import boto3
import pytest

from lib.config import load_environment
from lib.config.settings.file_processing import FileProcessingSettings
from tests.integration.http_api import call
from tests.integration.waiting import eventually
from tests.sample_files import png

OUTPUT_KEYS = (
    "FileUploadBucketName",
    "FileMetadataTableName",
    "FileApiId",
    "FileApiEndpoint",
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


def upload(files, region: str, name: str, body: bytes) -> str:
    key = f"uploads/it-{uuid.uuid4().hex}/{name}"
    boto3.client("s3", region_name=region).put_object(
        Bucket=files["FileUploadBucketName"], Key=key, Body=body
    )
    return key


def file_id(files, key: str) -> str:
    return hashlib.sha256(f"{files['FileUploadBucketName']}/{key}".encode()).hexdigest()[:32]


def api(files, region: str, method: str, path: str, *, body: Any = None):
    resp = call(
        method,
        files["FileApiEndpoint"].rstrip("/") + path,
        body=body,
        sign=True,
        region=region,
        headers={"Origin": "https://app.example.org"},
    )
    return resp.status, resp.json(), resp.headers


def record(files, region: str, fid: str, timeout: float = 60) -> dict[str, Any]:
    """The metadata record the notified processor writes, once it is there."""
    table = boto3.resource("dynamodb", region_name=region).Table(files["FileMetadataTableName"])
    return eventually(
        f"the metadata record {fid}",
        lambda: table.get_item(Key={"file_id": fid}).get("Item"),
        timeout=timeout,
    )


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


def test_a_presigned_upload_becomes_a_metadata_record_readable_through_the_api(files, region):
    status, grant, _ = api(
        files, region, "POST", "/uploads", body={"file_name": "pic.png", "content_type": "image/png"}
    )
    assert status == 201, grant
    image = png(64, 32)
    request = urllib.request.Request(grant["url"], data=image, method="PUT", headers=grant["headers"])  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - the presigned URL the API returned
        assert resp.status == 200
    item = record(files, region, grant["file_id"])
    assert item["kind"] == "image"
    assert item["status"] == "PROCESSED"
    assert (item["metadata"]["width"], item["metadata"]["height"]) == (64, 32)
    status, body, _ = api(files, region, "GET", f"/files/{grant['file_id']}")
    assert status == 200
    assert body["key"] == grant["key"]


def test_a_data_file_is_described_and_an_unknown_suffix_is_not_routed(files, region):
    other = upload(files, region, "anim.gif", b"GIF89a")
    content = b"a,b\n1,2\n3,4\n"
    key = upload(files, region, "table.csv", content)
    item = record(files, region, file_id(files, key))
    assert item["kind"] == "data"
    assert item["metadata"]["columns"] == ["a", "b"]
    assert item["metadata"]["row_count"] == 2
    # no notification matches .gif: no processor ran for it
    table = boto3.resource("dynamodb", region_name=region).Table(files["FileMetadataTableName"])
    assert "Item" not in table.get_item(Key={"file_id": file_id(files, other)})


def test_presigned_download_url_works(files, region):
    text = f"hello {uuid.uuid4().hex}".encode()
    key = upload(files, region, "note.txt", text)
    fid = file_id(files, key)
    assert record(files, region, fid)["kind"] == "document"
    status, body, headers = api(files, region, "GET", f"/files/{fid}/download-url")
    assert status == 200
    assert headers.get("access-control-allow-origin")
    with urllib.request.urlopen(body["url"], timeout=30) as resp:  # noqa: S310 - a presigned https/http URL
        assert resp.read() == text


def test_the_api_refuses_an_unsigned_request(files, region):
    resp = call("GET", files["FileApiEndpoint"].rstrip("/") + "/files", region=region)
    assert resp.status == 403


def test_api_stage_is_throttled(files, region):
    apigw = boto3.client("apigateway", region_name=region)
    stage = apigw.get_stage(restApiId=files["FileApiId"], stageName="v1")
    settings = stage["methodSettings"]["*/*"]
    assert settings["throttlingRateLimit"] == 1.67  # the seed's 100 requests per minute
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
