"""The IoT pipeline's functions, run in-process against moto."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest

from tests.unit.lambda_source import function_module
from tests.unit.offline_aws import mocked_aws

SYSTEM = "iot_pipeline"
LAYERS = ("layer",)
RAW, PROCESSED = "raw-table", "processed-table"
CONFIG = "/tap/test/iot-pipeline/config"
# 2024-05-01T12:00:00Z
TS = 1714564800


@pytest.fixture
def aws(monkeypatch):
    with mocked_aws(
        monkeypatch,
        RAW_TABLE_NAME=RAW,
        PROCESSED_TABLE_NAME=PROCESSED,
        CONFIG_PARAMETER=CONFIG,
        MAX_METRICS_PER_READING="3",
    ):
        ddb = boto3.client("dynamodb")
        for name, (hash_key, range_key, range_type) in {
            RAW: ("device_id", "timestamp", "N"),
            PROCESSED: ("device_id", "event_date", "S"),
        }.items():
            ddb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[
                    {"AttributeName": hash_key, "KeyType": "HASH"},
                    {"AttributeName": range_key, "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": hash_key, "AttributeType": "S"},
                    {"AttributeName": range_key, "AttributeType": range_type},
                ],
            )
        url = boto3.client("sqs").create_queue(QueueName="ingestion")["QueueUrl"]
        monkeypatch.setenv("QUEUE_URL", url)
        boto3.client("ssm").put_parameter(
            Name=CONFIG, Type="String", Value=json.dumps({"max_metrics_per_reading": 3})
        )
        yield url


def api(body, **extra) -> dict:
    return {"httpMethod": "POST", "body": body if isinstance(body, str) else json.dumps(body), **extra}


def call(function: str, event: dict) -> dict:
    with function_module(SYSTEM, function, layers=LAYERS) as mod:
        return mod.handler(event, None)


def reply(function: str, event: dict) -> tuple[int, dict]:
    resp = call(function, event)
    assert resp["headers"] == {"Content-Type": "application/json"}
    return resp["statusCode"], json.loads(resp["body"])


def sqs_record(message_id: str, body) -> dict:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body)}


# -- ingest ------------------------------------------------------------------------


def test_ingest_stores_raw_and_queues(aws):
    status, body = reply(
        "ingest", api({"device_id": "dev-1", "timestamp": TS, "sensor_data": {"temperature": 21.5}})
    )
    assert status == 202
    assert body["device_id"] == "dev-1"
    assert body["event_date"] == "2024-05-01"
    item = (
        boto3.resource("dynamodb")
        .Table(RAW)
        .get_item(Key={"device_id": "dev-1", "timestamp": TS * 1000})["Item"]
    )
    assert item["sensor_data"] == {"temperature": Decimal("21.5")}
    assert item["ingested_at"] > TS * 1000
    messages = boto3.client("sqs").receive_message(QueueUrl=aws, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [
        {"device_id": "dev-1", "timestamp": TS, "sensor_data": {"temperature": 21.5}}
    ]
    assert messages[0]["MessageId"] == body["message_id"]


def test_ingest_defaults_timestamp_to_now(aws):
    before = time.time()
    status, body = reply("ingest", api({"device_id": "dev-2", "sensor_data": {"humidity": 40}}))
    assert status == 202
    assert before - 1 <= body["timestamp"] <= time.time() + 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "request body is not valid JSON"),
        ("", "request body is required"),
        ("[1, 2]", "a reading must be a JSON object"),
        ({"sensor_data": {"t": 1}}, "device_id must be 1-128 characters"),
        ({"device_id": "a b", "sensor_data": {"t": 1}}, "device_id must be 1-128 characters"),
        ({"device_id": "d"}, "sensor_data must be a non-empty object"),
        ({"device_id": "d", "sensor_data": {}}, "sensor_data must be a non-empty object"),
        (
            {"device_id": "d", "sensor_data": {"temperature": "hot"}},
            "sensor_data.temperature must be a number",
        ),
        (
            {"device_id": "d", "sensor_data": {"temperature": True}},
            "sensor_data.temperature must be a number",
        ),
        ({"device_id": "d", "sensor_data": {"Temp": 1}}, "metric name 'Temp' must be lowercase"),
        (
            {"device_id": "d", "sensor_data": {"a": 1, "b": 2, "c": 3, "d": 4}},
            "sensor_data has 4 metrics; at most 3",
        ),
        ({"device_id": "d", "sensor_data": {"a": 1}, "timestamp": "noon"}, "timestamp must be epoch seconds"),
        (
            {"device_id": "d", "sensor_data": {"a": 1}, "timestamp": 10},
            "timestamp is outside the accepted range",
        ),
    ],
)
def test_ingest_rejects_malformed_readings_with_400(aws, body, message):
    status, payload = reply("ingest", api(body))
    assert status == 400
    assert message in payload["message"]
    assert boto3.client("dynamodb").scan(TableName=RAW)["Count"] == 0
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=aws)


def test_ingest_rejects_base64_bodies(aws):
    status, payload = reply("ingest", api("e30=", isBase64Encoded=True))
    assert (status, payload["message"]) == (400, "request body must be JSON text, not base64")


# -- processor ---------------------------------------------------------------------


def _daily(device: str, day: str) -> dict:
    return (
        boto3.resource("dynamodb")
        .Table(PROCESSED)
        .get_item(Key={"device_id": device, "event_date": day})["Item"]
    )


def test_processor_batch_converts_to_fahrenheit_and_aggregates_per_day(aws):
    records = [
        sqs_record(
            "m1", {"device_id": "dev-1", "timestamp": TS, "sensor_data": {"temperature": 20, "humidity": 40}}
        ),
        sqs_record("m2", {"device_id": "dev-1", "timestamp": TS + 60, "sensor_data": {"temperature": 30}}),
        sqs_record(
            "m3", {"device_id": "dev-1", "timestamp": TS + 86400, "sensor_data": {"temperature": -40}}
        ),
    ]
    assert call("processor", {"Records": records}) == {"batchItemFailures": []}
    first = _daily("dev-1", "2024-05-01")
    assert first["reading_count"] == 2
    assert first["temperature_reading_count"] == 2
    assert first["temperature_fahrenheit_sum"] == Decimal("68") + Decimal("86")
    assert first["latest_metrics"] == {"temperature_fahrenheit": Decimal("86.00")}
    assert first["latest_timestamp"] == (TS + 60) * 1000
    assert _daily("dev-1", "2024-05-02")["latest_metrics"] == {"temperature_fahrenheit": Decimal("-40.00")}


def test_processor_reports_only_the_failed_records(aws):
    good = {"device_id": "dev-9", "timestamp": TS, "sensor_data": {"temperature": 0}}
    records = [
        sqs_record("ok-1", good),
        sqs_record("bad-json", "{not json"),
        sqs_record("bad-reading", {"device_id": "dev-9", "sensor_data": {"temperature": "x"}}),
        {"messageId": "no-body"},
        sqs_record("ok-2", {**good, "timestamp": TS + 1}),
    ]
    result = call("processor", {"Records": records})
    assert result == {
        "batchItemFailures": [
            {"itemIdentifier": "bad-json"},
            {"itemIdentifier": "bad-reading"},
            {"itemIdentifier": "no-body"},
        ]
    }
    assert _daily("dev-9", "2024-05-01")["reading_count"] == 2


def test_processor_reports_store_failures(aws, monkeypatch):
    boto3.client("dynamodb").delete_table(TableName=PROCESSED)
    result = call(
        "processor",
        {"Records": [sqs_record("m1", {"device_id": "d", "timestamp": TS, "sensor_data": {"a": 1}})]},
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_process_endpoint_processes_one_reading(aws):
    status, body = reply(
        "processor", api({"device_id": "dev-3", "timestamp": TS, "sensor_data": {"temperature": 37}})
    )
    assert status == 200
    assert body == {
        "device_id": "dev-3",
        "event_date": "2024-05-01",
        "metrics": {"temperature_fahrenheit": 98.6},
        "reading_count": 1,
    }


def test_process_endpoint_rejects_malformed_payload(aws):
    status, body = reply("processor", api({"device_id": "dev-3"}))
    assert status == 400
    assert body["message"] == "sensor_data must be a non-empty object of metric name -> number"


# -- query -------------------------------------------------------------------------


def _seed(device: str, days: list[str]) -> None:
    table = boto3.resource("dynamodb").Table(PROCESSED)
    for i, day in enumerate(days):
        table.put_item(
            Item={
                "device_id": device,
                "event_date": day,
                "reading_count": 2,
                "temperature_reading_count": 2,
                "temperature_fahrenheit_sum": Decimal("150.5"),
                "latest_timestamp": TS * 1000 + i,
                "latest_metrics": {"temperature_fahrenheit": Decimal("75")},
            }
        )


def get(params) -> dict:
    return {"httpMethod": "GET", "queryStringParameters": params}


def test_query_returns_days_in_range(aws):
    _seed("dev-1", ["2024-04-30", "2024-05-01", "2024-05-02", "2024-05-10"])
    _seed("dev-2", ["2024-05-01"])
    status, body = reply(
        "query", get({"device_id": "dev-1", "start_date": "2024-05-01", "end_date": "2024-05-02"})
    )
    assert status == 200
    assert body["count"] == 2
    assert [i["event_date"] for i in body["items"]] == ["2024-05-01", "2024-05-02"]
    assert body["items"][0]["average_temperature_fahrenheit"] == 75.25
    assert body["items"][0]["reading_count"] == 2


def test_query_defaults_to_the_last_seven_days(aws):
    today = datetime.now(tz=UTC).date().isoformat()
    _seed("dev-1", [today])
    status, body = reply("query", get({"device_id": "dev-1"}))
    assert status == 200
    assert body["end_date"] == today
    assert body["count"] == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (None, "query parameter device_id is required"),
        ({"device_id": "bad id"}, "device_id must be 1-128 characters"),
        ({"device_id": "d", "start_date": "yesterday"}, "start_date must be a date in YYYY-MM-DD form"),
        (
            {"device_id": "d", "start_date": "2024-05-02", "end_date": "2024-05-01"},
            "start_date must not be after",
        ),
        ({"device_id": "d", "start_date": "2020-01-01", "end_date": "2024-01-01"}, "at most 366 days"),
    ],
)
def test_query_rejects_bad_parameters_with_400(aws, params, message):
    status, body = reply("query", get(params))
    assert status == 400
    assert message in body["message"]


def test_missing_environment_is_a_clear_error(aws, monkeypatch):
    monkeypatch.delenv("PROCESSED_TABLE_NAME")
    with pytest.raises(RuntimeError, match="environment variable PROCESSED_TABLE_NAME is not set"):
        call("query", get({"device_id": "d"}))
