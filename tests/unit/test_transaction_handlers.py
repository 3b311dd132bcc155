"""The transaction pipeline's functions, run in-process against moto."""

from __future__ import annotations

import json
import os
from decimal import Decimal

import boto3
import pytest

from tests.unit.lambda_source import function_module
from tests.unit.offline_aws import mocked_aws

SYSTEM = "transaction_pipeline"
BUCKET = "uploads-bucket"
STATUS = "status-table"
TRANSACTIONS = "transactions-table"
HEADER = "transaction_id,account_id,amount,currency,timestamp,description\n"
GOOD_CSV = (
    HEADER
    + "t-1,acc-1,12.50,USD,2024-05-01T10:00:00Z,coffee\n"
    + "t-2,acc-1,-3.1,usd,2024-05-01T12:30:00+02:00,\n"
    + "t-3,acc-2,100,EUR,2024-05-02T00:00:00Z,rent\n"
)


@pytest.fixture
def aws(monkeypatch):
    with mocked_aws(
        monkeypatch,
        UPLOAD_BUCKET=BUCKET,
        STATUS_TABLE=STATUS,
        TRANSACTIONS_TABLE=TRANSACTIONS,
        MAX_FILE_BYTES="2048",
        MAX_ROWS="5",
    ):
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        ddb = boto3.client("dynamodb")
        for name, key in ((STATUS, "upload_id"), (TRANSACTIONS, "transaction_id")):
            ddb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            )
        topic = boto3.client("sns").create_topic(Name="notices")["TopicArn"]
        monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", topic)
        yield


def _status(upload_id: str) -> dict:
    return boto3.resource("dynamodb").Table(STATUS).get_item(Key={"upload_id": upload_id})["Item"]


def _api_event(body) -> dict:
    return {
        "httpMethod": "POST",
        "resource": "/upload",
        "body": body if isinstance(body, str) else json.dumps(body),
    }


def _upload(content: str, name: str = "batch.csv") -> tuple[int, dict]:
    with function_module(SYSTEM, "csv_validator") as mod:
        resp = mod.handler(_api_event({"file_name": name, "content": content}))
    return resp["statusCode"], json.loads(resp["body"])


# -- csv-validator: POST /upload ---------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_valid_upload_is_stored_under_validated_and_recorded():
    status, body = _upload(GOOD_CSV)
    assert status == 202
    assert body["status"] == "VALIDATED"
    assert body["rows"] == 3
    assert body["key"] == f"validated/{body['upload_id']}/batch.csv"
    obj = boto3.client("s3").get_object(Bucket=BUCKET, Key=body["key"])
    assert obj["Body"].read().decode() == GOOD_CSV
    assert obj["Metadata"] == {"upload-id": body["upload_id"]}
    record = _status(body["upload_id"])
    assert record["status"] == "VALIDATED"
    assert record["rows"] == 3


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("t-9,acc-1,abc,USD,2024-05-01T10:00:00Z,x", "amount 'abc' is not a number"),
        ("t-9,acc-1,1.234,USD,2024-05-01T10:00:00Z,x", "more than 2 decimal places"),
        ("t-9,acc-1,1,US,2024-05-01T10:00:00Z,x", "3-letter ISO 4217 code"),
        ("t-9,acc-1,1,USD,2024-05-01 10:00,x", "is not an ISO 8601 date-time with a time zone"),
        ("t-9,,1,USD,2024-05-01T10:00:00Z,x", "account_id '' is not a valid id"),
        ("t-9,acc-1,1,USD", "expected 6 fields"),
        ("t-9,acc-1,1,USD,2024-05-01T10:00:00Z,x,extra", "expected 6 fields"),
        ("t 9,acc-1,1,USD,2024-05-01T10:00:00Z,x", "transaction_id 't 9' must be"),
        ("t-1,acc-1,1,USD,2024-05-01T10:00:00Z,x", "transaction_id 't-1' appears twice"),
    ],
)
def test_malformed_rows_are_rejected_with_line_numbers(row, message):
    status, body = _upload(HEADER + "t-1,acc-1,1,USD,2024-05-01T10:00:00Z,a\n" + row + "\n")
    assert status == 422
    assert body["status"] == "REJECTED"
    assert body["error_count"] >= 1
    assert any(e.startswith("line 3: ") and message in e for e in body["errors"]), body["errors"]
    assert _status(body["upload_id"])["status"] == "REJECTED"
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    assert listed == 0  # nothing reaches validated/


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("account_id,amount\n1,2\n", "header: missing column(s) transaction_id, currency, timestamp"),
        (HEADER, "the file has a header but no rows"),
        (
            HEADER + "".join(f"t-{i},a,1,USD,2024-05-01T10:00:00Z,x\n" for i in range(6)),
            "the file has more than 5 rows",
        ),
    ],
)
def test_bad_files_are_rejected(content, message):
    status, body = _upload(content)
    assert status == 422
    assert message in body["errors"]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "the request body is empty"),
        ("{not json", "the request body is not valid JSON"),
        ("[1, 2]", "the request body must be a JSON object"),
        ({"file_name": "a.txt", "content": "x"}, "file_name must be"),
        ({"file_name": "a.csv", "content": ""}, "content must be a non-empty string"),
        ({"file_name": "a.csv", "content": "x", "extra": 1}, "unknown field(s): extra"),
        ({"file_name": "a.csv", "content": "x" * 2049}, "content is 2049 bytes; the limit is 2048"),
    ],
)
def test_malformed_requests_get_400_with_a_message(body, message):
    with function_module(SYSTEM, "csv_validator") as mod:
        resp = mod.handler(_api_event(body))
    assert resp["statusCode"] == 400
    assert resp["headers"]["Content-Type"] == "application/json"
    assert message in json.loads(resp["body"])["message"]


# -- csv-validator: the workflow's Validate step -----------------------------------


@pytest.mark.usefixtures("aws")
def test_workflow_validate_step_rechecks_the_stored_file():
    _, body = _upload(GOOD_CSV)
    with function_module(SYSTEM, "csv_validator") as mod:
        result = mod.handler({"bucket": BUCKET, "key": body["key"]})
    assert result == {"bucket": BUCKET, "key": body["key"], "upload_id": body["upload_id"], "rows": 3}
    assert _status(body["upload_id"])["status"] == "PROCESSING"


@pytest.mark.usefixtures("aws")
def test_workflow_validate_step_fails_on_a_tampered_or_oversize_file():
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="validated/u1/bad.csv", Body=b"transaction_id\nx\n")
    s3.put_object(Bucket=BUCKET, Key="validated/u2/big.csv", Body=b"x" * 4096)
    with function_module(SYSTEM, "csv_validator") as mod:
        with pytest.raises(ValueError, match="is invalid: header: missing column"):
            mod.handler({"bucket": BUCKET, "key": "validated/u1/bad.csv"})
        with pytest.raises(ValueError, match="is 4096 bytes; the limit is 2048"):
            mod.handler({"bucket": BUCKET, "key": "validated/u2/big.csv"})
        with pytest.raises(ValueError, match="is not under"):
            mod.handler({"bucket": BUCKET, "key": "incoming/x.csv"})
    assert _status("u1")["status"] == "REJECTED"
    assert _status("u2")["errors"] == ["file too large"]


# -- data-transformer and notification-sender --------------------------------------


@pytest.mark.usefixtures("aws")
def test_transformer_writes_normalized_transactions():
    _, body = _upload(GOOD_CSV)
    event = {"bucket": BUCKET, "key": body["key"], "upload_id": body["upload_id"], "rows": 3}
    with function_module(SYSTEM, "data_transformer") as mod:
        result = mod.handler(event)
    assert result["written"] == 3
    assert result["totals"] == {"EUR": "100.00", "USD": "9.40"}
    table = boto3.resource("dynamodb").Table(TRANSACTIONS)
    t2 = table.get_item(Key={"transaction_id": "t-2"})["Item"]
    assert t2["amount"] == Decimal("-3.10")
    assert t2["currency"] == "USD"
    assert t2["timestamp"] == "2024-05-01T10:30:00Z"  # converted to UTC
    assert t2["transaction_date"] == "2024-05-01"
    assert t2["direction"] == "DEBIT"
    assert "description" not in t2  # empty optional column dropped
    assert table.get_item(Key={"transaction_id": "t-1"})["Item"]["description"] == "coffee"
    assert _status(body["upload_id"])["status"] == "TRANSFORMED"


@pytest.mark.usefixtures("aws")
def test_transformer_fails_on_a_row_the_validator_would_reject():
    boto3.client("s3").put_object(
        Bucket=BUCKET,
        Key="validated/u3/x.csv",
        Body=(HEADER + "t-1,a,1,USD,2024-05-01T10:00:00,x\n").encode(),
    )
    with function_module(SYSTEM, "data_transformer") as mod:
        error = mod.transform_rules.TransformError
        with pytest.raises(error, match="timestamp has no time zone"):
            mod.handler({"bucket": BUCKET, "key": "validated/u3/x.csv", "upload_id": "u3"})


@pytest.mark.usefixtures("aws")
def test_notifier_publishes_a_summary_and_completes_the_status():
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="watch")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    boto3.client("sns").subscribe(
        TopicArn=os.environ["NOTIFICATION_TOPIC_ARN"], Protocol="sqs", Endpoint=queue_arn
    )
    _, body = _upload(GOOD_CSV)
    event = {"upload_id": body["upload_id"], "key": body["key"], "written": 3, "totals": {"USD": "9.40"}}
    with function_module(SYSTEM, "notification_sender") as mod:
        result = mod.handler(event)
        with pytest.raises(ValueError, match="notification event lacks written"):
            mod.handler({"upload_id": "x"})
    assert result["status"] == "COMPLETED"
    note = json.loads(sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert note["Subject"] == "Transactions processed: 3 row(s)"
    assert json.loads(note["Message"])["totals"] == {"USD": "9.40"}
    record = _status(body["upload_id"])
    assert record["status"] == "COMPLETED"
    assert record["message_id"] == result["message_id"]


def test_config_reads_required_variables_and_defaults():
    with function_module(SYSTEM, "csv_validator") as mod:
        cfg = mod.csv_rules.Config.from_env({"UPLOAD_BUCKET": "b", "STATUS_TABLE": "s"})
        assert (cfg.max_file_bytes, cfg.max_rows) == (1_048_576, 10_000)
        with pytest.raises(KeyError, match="UPLOAD_BUCKET"):
            mod.csv_rules.Config.from_env({})
