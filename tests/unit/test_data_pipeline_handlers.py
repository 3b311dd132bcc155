"""The data pipeline's four functions, run in-process against moto."""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace

import boto3
import pytest

from tests.unit.lambda_source import function_module
from tests.unit.offline_aws import mocked_aws

SYSTEM = "data_pipeline"
LAYERS = ("layer",)
BUCKET, TABLE = "raw-bucket", "records"
CONTEXT = SimpleNamespace(aws_request_id="req-1")

GOOD = {"record_id": " r1 ", "source": " Sensor-A ", "value": 1.234567, "unit": "C"}
OTHER = {"record_id": "r2", "source": "b", "value": 7}


@pytest.fixture
def aws(monkeypatch):
    with mocked_aws(monkeypatch, region="us-east-2", RAW_BUCKET=BUCKET, TABLE_NAME=TABLE):
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "record_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "record_id", "AttributeType": "S"}],
        )
        yield s3


def run(function: str, event: dict) -> dict:
    with function_module(SYSTEM, function, layers=LAYERS) as module:
        return module.handler(event, CONTEXT)


def stored(s3, key: str) -> list[dict]:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())["records"]


def error(function: str, event: dict) -> str:
    with function_module(SYSTEM, function, layers=LAYERS) as module:
        common = __import__("pipeline_common")
        with pytest.raises(common.PipelineError) as err:
            module.handler(event, CONTEXT)
    return str(err.value)


def test_whole_chain_loads_valid_records_into_the_table(aws) -> None:
    raw = run("ingest", {"records": [GOOD, OTHER, {"record_id": "bad"}]})
    assert raw == {"bucket": BUCKET, "key": "inline/req-1.json", "count": 3}
    validated = run("validate", raw)
    assert validated == {"bucket": BUCKET, "key": "validated/req-1.json", "valid": 2, "invalid": 1}
    transformed = run("transform", validated)
    assert transformed == {"bucket": BUCKET, "key": "transformed/req-1.json", "count": 2}
    assert stored(aws, "transformed/req-1.json")[0] == {
        "record_id": "r1",
        "source": "sensor-a",
        "value": 1.2346,
        "attributes": {"unit": "C"},
    }
    assert run("load", transformed) == {"table": TABLE, "loaded": 2}
    item = boto3.resource("dynamodb").Table(TABLE).get_item(Key={"record_id": "r1"})["Item"]
    assert item["value"] == Decimal("1.2346")
    assert item["batch"] == "transformed/req-1.json"
    # loading again overwrites by key: still two items
    run("load", transformed)
    assert boto3.client("dynamodb").scan(TableName=TABLE)["Count"] == 2


def test_ingest_passes_an_existing_object_through(aws) -> None:
    assert run("ingest", {"bucket": BUCKET, "key": "raw/x.json"}) == {"bucket": BUCKET, "key": "raw/x.json"}
    assert run("ingest", {"key": "raw/y.json"}) == {"bucket": BUCKET, "key": "raw/y.json"}


def test_an_event_without_a_batch_is_an_empty_batch(aws) -> None:
    """The seed's smoke input: the workflow's Choice ends it in NoBatch."""
    assert run("ingest", {"test": "data", "bucket": BUCKET}) == {"bucket": BUCKET, "count": 0}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"key": ""}, "'key' must name an object in the raw bucket"),
        ({"records": "nope"}, "event needs 'records' (a list)"),
        ({"bucket": "elsewhere", "key": "raw/a.json"}, "ingest reads only from the raw bucket raw-bucket"),
    ],
)
def test_ingest_refuses_malformed_events(aws, event: dict, message: str) -> None:
    assert message in error("ingest", event)


def test_validate_fails_a_batch_without_any_valid_record(aws) -> None:
    aws.put_object(
        Bucket=BUCKET,
        Key="raw/bad.json",
        Body=json.dumps({"records": [{"record_id": "", "source": "s", "value": True}, "x"]}),
    )
    assert error("validate", {"bucket": BUCKET, "key": "raw/bad.json"}) == (
        "no valid record among 2 in s3://raw-bucket/raw/bad.json"
    )


def test_validate_reports_each_problem_of_a_record() -> None:
    with function_module(SYSTEM, "validate", layers=LAYERS):
        problems = __import__("validation").problems
        assert problems({"record_id": "", "value": "1"}) == [
            "missing source",
            "record_id must be a non-empty string",
            "value must be a number",
        ]
        assert problems([1]) == ["not an object"]
        assert problems(OTHER) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "s3://raw-bucket/raw/c.json is not JSON"),
        (json.dumps({"rows": []}), "s3://raw-bucket/raw/c.json holds no 'records' list"),
    ],
)
def test_unreadable_objects_are_refused(aws, body: str, message: str) -> None:
    aws.put_object(Bucket=BUCKET, Key="raw/c.json", Body=body)
    assert message in error("transform", {"bucket": BUCKET, "key": "raw/c.json"})


def test_a_plain_list_is_a_batch_too(aws) -> None:
    aws.put_object(Bucket=BUCKET, Key="raw/list.json", Body=json.dumps([OTHER]))
    assert run("validate", {"bucket": BUCKET, "key": "raw/list.json"})["valid"] == 1


@pytest.mark.parametrize("event", [{}, {"bucket": BUCKET}, {"bucket": "", "key": "k"}])
def test_steps_need_a_location(aws, event: dict) -> None:
    assert error("load", event) == "event needs 'bucket' and 'key' strings"


def test_missing_configuration_is_named(aws, monkeypatch) -> None:
    monkeypatch.delenv("RAW_BUCKET")
    assert error("ingest", {"records": []}) == "environment variable RAW_BUCKET is not set"


def test_nested_numbers_become_decimals() -> None:
    with function_module(SYSTEM, "load", layers=LAYERS):
        common = __import__("pipeline_common")
        assert common.to_dynamodb({"a": [1.5, {"b": 2}], "c": "x"}) == {
            "a": [Decimal("1.5"), {"b": 2}],
            "c": "x",
        }
        assert common.next_key("plain.json", "validated") == "validated/plain.json"
