"""The file-processing functions, run in-process against moto."""

from __future__ import annotations

import io
import json
import urllib.parse

import boto3
import pytest

from tests.sample_files import PDF, jpeg, png
from tests.unit.lambda_source import function_module
from tests.unit.offline_aws import mocked_aws

SYSTEM = "file_processing"
LAYERS = ("common",)
BUCKET = "files-bucket"
TABLE = "files-metadata"


@pytest.fixture
def aws(monkeypatch):
    with mocked_aws(
        monkeypatch,
        unset=("BEDROCK_MODEL_ID",),
        METADATA_TABLE=TABLE,
        UPLOAD_BUCKET=BUCKET,
        MAX_FILE_BYTES="4096",
        URL_EXPIRY_SECONDS="300",
        ALLOWED_ORIGINS="https://app.example.org,http://localhost:3000",
    ):
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "file_id", "AttributeType": "S"},
                {"AttributeName": "kind", "AttributeType": "S"},
                {"AttributeName": "processed_at", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-kind",
                    "KeySchema": [
                        {"AttributeName": "kind", "KeyType": "HASH"},
                        {"AttributeName": "processed_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield


def put(key: str, body: bytes) -> dict:
    """Store an object and return the S3 notification event for it."""
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    return event_for(key, len(body))


def event_for(key: str, size: int) -> dict:
    encoded = urllib.parse.quote_plus(key, safe="/")
    return {"Records": [{"s3": {"bucket": {"name": BUCKET}, "object": {"key": encoded, "size": size}}}]}


def run(function: str, event: dict) -> dict:
    with function_module(SYSTEM, function, layers=LAYERS) as mod:
        return mod.handler(event)


def record(key: str) -> dict:
    with function_module(SYSTEM, "api", layers=LAYERS) as mod:
        fid = mod.file_records.file_id(BUCKET, key)
    return boto3.resource("dynamodb").Table(TABLE).get_item(Key={"file_id": fid})["Item"]


def call_api(
    method: str, resource: str, *, path=None, query=None, body=None, origin=None
) -> tuple[int, dict, dict]:
    event = {
        "headers": {"Origin": origin} if origin else None,
        "httpMethod": method,
        "resource": resource,
        "pathParameters": path,
        "queryStringParameters": query,
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
    }
    with function_module(SYSTEM, "api", layers=LAYERS) as mod:
        resp = mod.handler(event)
    return resp["statusCode"], json.loads(resp["body"]), resp["headers"]


# -- processors ----------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_image_processor_reads_png_and_jpeg_dimensions():
    summary = run("image_processor", put("in/photo one.png", png(640, 480)))
    assert len(summary["processed"]) == 1
    item = record("in/photo one.png")  # the event carried the key URL-encoded
    assert item["status"] == "PROCESSED"
    assert item["kind"] == "image"
    assert item["metadata"] == {"format": "png", "width": 640, "height": 480, "bit_depth": 8, "color": "rgba"}
    run("image_processor", put("in/p.jpg", jpeg(1024, 768)))
    meta = record("in/p.jpg")["metadata"]
    assert (meta["format"], meta["width"], meta["height"], meta["components"]) == ("jpeg", 1024, 768, 3)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        ("x.png", b"GIF89a....", "not a PNG image"),
        ("x.jpg", b"\x89PNG\r\n", "not a JPEG image"),
        ("y.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "has no frame header"),
    ],
)
def test_image_processor_records_corrupt_images_as_failed(key, body, reason):
    summary = run("image_processor", put(key, body))
    assert len(summary["failed"]) == 1
    item = record(key)
    assert item["status"] == "FAILED"
    assert reason in item["reason"]


@pytest.mark.usefixtures("aws")
def test_oversize_files_are_rejected_without_being_read():
    # The object does not even exist: a REJECTED record proves it was not read.
    summary = run("data_processor", event_for("big.csv", 5000))
    assert len(summary["rejected"]) == 1
    item = record("big.csv")
    assert item["status"] == "REJECTED"
    assert item["reason"] == "file is 5000 bytes; the limit is 4096"
    assert "metadata" not in item


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("function", "key"),
    [
        ("image_processor", "a.gif"),
        ("document_processor", "a.docx"),
        ("data_processor", "a.png"),
        ("data_processor", "noext"),
    ],
)
def test_unknown_suffixes_are_skipped_and_not_recorded(function, key):
    summary = run(function, put(key, b"data"))
    assert summary["skipped"] == [key]
    assert boto3.client("dynamodb").scan(TableName=TABLE)["Count"] == 0


@pytest.mark.usefixtures("aws")
def test_document_processor_text_and_pdf():
    run("document_processor", put("docs/readme.txt", b"hello world\nsecond line here\n"))
    meta = record("docs/readme.txt")["metadata"]
    assert (meta["lines"], meta["words"], meta["characters"]) == (2, 5, 29)
    assert meta["preview"].startswith("hello world")
    assert "summary" not in meta  # Bedrock is off without BEDROCK_MODEL_ID
    run("document_processor", put("docs/report.PDF", PDF))
    item = record("docs/report.PDF")
    assert item["suffix"] == ".pdf"
    assert item["metadata"] == {"format": "pdf", "pdf_version": "1.7", "pages": 2, "complete": True}
    run("document_processor", put("docs/bad.txt", b"\xff\xfe\xfa"))
    assert "not UTF-8 text" in record("docs/bad.txt")["reason"]


@pytest.mark.usefixtures("aws")
def test_document_processor_summarizes_with_the_configured_model(monkeypatch):
    monkeypatch.setenv("BEDROCK_MODEL_ID", "anthropic.claude-3-haiku-20240307-v1:0")
    calls = []

    class FakeBedrock:
        def invoke_model(self, **kwargs):
            calls.append(kwargs)
            return {
                "body": io.BytesIO(
                    json.dumps({"content": [{"type": "text", "text": "A greeting."}]}).encode()
                )
            }

    with function_module(SYSTEM, "document_processor", layers=LAYERS) as mod:
        real_client = mod.boto3.client
        monkeypatch.setattr(
            mod.boto3,
            "client",
            lambda name, **kw: FakeBedrock() if name == "bedrock-runtime" else real_client(name, **kw),
        )
        mod._processor.cache_clear()
        mod.handler(put("n.txt", b"hello there"))
        mod._processor.cache_clear()
    assert record("n.txt")["metadata"]["summary"] == "A greeting."
    assert calls[0]["modelId"] == "anthropic.claude-3-haiku-20240307-v1:0"
    assert json.loads(calls[0]["body"])["messages"][0]["content"][0]["text"].endswith("hello there")


def test_model_request_bodies_per_family():
    with function_module(SYSTEM, "document_processor", layers=LAYERS) as mod:
        titan = mod.document_meta.model_request("amazon.titan-text-express-v1", "t")
        assert titan["textGenerationConfig"] == {"maxTokenCount": 200}
        assert (
            mod.document_meta.model_answer(
                "amazon.titan-text-express-v1", {"results": [{"outputText": " ok "}]}
            )
            == "ok"
        )
        with pytest.raises(ValueError, match="not an Anthropic Claude or Amazon Titan Text model"):
            mod.document_meta.model_request("meta.llama3", "t")


@pytest.mark.usefixtures("aws")
def test_data_processor_csv_and_json():
    run("data_processor", put("d/a.csv", b"id,name\n1,x\n2,y,extra\n\n"))
    meta = record("d/a.csv")["metadata"]
    assert meta == {
        "format": "csv",
        "columns": ["id", "name"],
        "column_count": 2,
        "row_count": 2,
        "ragged_rows": 1,
    }
    run("data_processor", put("d/b.json", b'{"b": 1, "a": [1, 2]}'))
    assert record("d/b.json")["metadata"] == {
        "format": "json",
        "json_type": "object",
        "keys": ["a", "b"],
        "key_count": 2,
    }
    run("data_processor", put("d/c.json", b"[1, 2, 3]"))
    assert record("d/c.json")["metadata"]["item_count"] == 3
    run("data_processor", put("d/bad.json", b"{nope"))
    assert record("d/bad.json")["reason"].startswith("invalid JSON")
    run("data_processor", put("d/empty.csv", b"\n \n"))
    assert record("d/empty.csv")["reason"] == "CSV file is empty"


@pytest.mark.usefixtures("aws")
def test_malformed_s3_events_raise():
    with pytest.raises(ValueError, match="no Records list"):
        run("data_processor", {"detail": {}})
    with pytest.raises(ValueError, match="malformed S3 event record"):
        run("data_processor", {"Records": [{"s3": {"bucket": {}}}]})


# -- API -----------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_api_lists_and_reads_metadata_with_cors_headers():
    for i in range(3):
        run("data_processor", put(f"d/{i}.json", b"[]"))
    run("image_processor", put("i/a.png", png(1, 1)))
    status, body, headers = call_api("GET", "/files", query={"limit": "2"})
    assert status == 200
    assert len(body["files"]) == 2
    assert body["next"] is not None
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.org"  # the first allowed
    _, _, headers = call_api("GET", "/files", origin="http://localhost:3000")
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:3000"  # an allowed origin echoed
    _, _, headers = call_api("GET", "/files", origin="https://evil.example")
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    _, rest, _ = call_api("GET", "/files", query={"limit": "10", "next": body["next"]})
    assert len(body["files"]) + len(rest["files"]) == 4
    _, images, _ = call_api("GET", "/files", query={"kind": "image"})
    assert [f["key"] for f in images["files"]] == ["i/a.png"]
    assert images["files"][0]["metadata"]["width"] == 1  # Decimal -> JSON number
    fid = images["files"][0]["file_id"]
    status, one, _ = call_api("GET", "/files/{file_id}", path={"file_id": fid})
    assert (status, one["key"]) == (200, "i/a.png")


@pytest.mark.usefixtures("aws")
def test_api_presigned_download_url_points_at_the_object():
    run("data_processor", put("d/x.csv", b"a\n1\n"))
    fid = record("d/x.csv")["file_id"]
    status, body, _ = call_api("GET", "/files/{file_id}/download-url", path={"file_id": fid})
    assert status == 200
    assert body["expires_in"] == 300
    url = urllib.parse.urlparse(body["url"])
    assert url.path.endswith("/d/x.csv")
    query = urllib.parse.parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]


@pytest.mark.usefixtures("aws")
def test_api_presigned_upload_url():
    status, body, _ = call_api(
        "POST", "/uploads", body={"file_name": "photo.png", "content_type": "image/png"}
    )
    assert status == 201
    assert body["method"] == "PUT"
    assert body["key"].startswith("uploads/")
    assert body["key"].endswith("/photo.png")
    assert "X-Amz-Signature=" in body["url"]
    assert body["headers"] == {"Content-Type": "image/png"}


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("method", "resource", "kwargs", "status", "message"),
    [
        ("GET", "/files", {"query": {"limit": "0"}}, 400, "limit must be an integer from 1 to 100"),
        ("GET", "/files", {"query": {"limit": "abc"}}, 400, "limit must be an integer"),
        ("GET", "/files", {"query": {"kind": "video"}}, 400, "kind must be one of image, document, data"),
        ("GET", "/files", {"query": {"next": "zz"}}, 400, "file_id must be 32 lowercase hexadecimal"),
        ("GET", "/files/{file_id}", {"path": {"file_id": "../etc"}}, 400, "file_id must be 32"),
        ("GET", "/files/{file_id}", {"path": {"file_id": "0" * 32}}, 404, "no file with id"),
        ("GET", "/files/{file_id}/download-url", {"path": {"file_id": "f" * 32}}, 404, "no file with id"),
        ("POST", "/uploads", {"body": "{bad"}, 400, "not valid JSON"),
        ("POST", "/uploads", {}, 400, "the request body is empty"),
        ("POST", "/uploads", {"body": "[]"}, 400, "must be a JSON object"),
        ("POST", "/uploads", {"body": {"file_name": "a.exe"}}, 400, "file type '.exe' is not processed"),
        ("POST", "/uploads", {"body": {"file_name": "../a.png"}}, 400, "file_name must be"),
        (
            "POST",
            "/uploads",
            {"body": {"file_name": "a.png", "content_type": "x"}},
            400,
            "content_type must be",
        ),
        ("DELETE", "/files", {}, 405, "method DELETE is not allowed on /files"),
        ("GET", "/nope", {}, 404, "no route for GET /nope"),
    ],
)
def test_api_bad_requests_get_a_message(method, resource, kwargs, status, message):
    got, body, _ = call_api(method, resource, **kwargs)
    assert got == status
    assert message in body["message"]


def test_api_config_defaults():
    with function_module(SYSTEM, "api", layers=LAYERS) as mod:
        cfg = mod.files_api.Config.from_env({"UPLOAD_BUCKET": "b", "METADATA_TABLE": "t"})
    assert (cfg.url_expiry_seconds, cfg.allowed_origins) == (900, ("*",))
    assert cfg.cors_origin("https://any.example") == "*"
