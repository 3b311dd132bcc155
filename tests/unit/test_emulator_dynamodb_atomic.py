"""``patch_dynamodb_atomic_items``: concurrent ``ADD`` updates of a new item both
count, as on DynamoDB (moto in-process; the race window is widened on purpose)."""

from __future__ import annotations

import threading
import time

import boto3
import pytest

from scripts.tapctl.emulator.patches import patch_dynamodb_atomic_items
from tests.unit.offline_aws import mocked_aws


@pytest.fixture
def table(monkeypatch):
    with mocked_aws(monkeypatch):
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName="daily",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ddb


def _slow_lookups(monkeypatch) -> None:
    """Every item lookup answers, then pauses: two updates of a new key both read
    "no item" before either stores one, unless something serializes them."""
    from moto.dynamodb.models.table import Table

    original = Table.get_item

    def get_item(self, *args, **kwargs):
        found = original(self, *args, **kwargs)
        time.sleep(0.2)
        return found

    monkeypatch.setattr(Table, "get_item", get_item)


def _count_after_concurrent_adds(ddb, key: str, writers: int) -> int:
    def add() -> None:
        ddb.update_item(
            TableName="daily",
            Key={"pk": {"S": key}},
            UpdateExpression="SET latest = :one ADD #count :one",
            ExpressionAttributeNames={"#count": "reading_count"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    threads = [threading.Thread(target=add) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    item = ddb.get_item(TableName="daily", Key={"pk": {"S": key}})["Item"]
    return int(item["reading_count"]["N"])


def test_concurrent_adds_to_a_new_item_all_count(table, monkeypatch):
    _slow_lookups(monkeypatch)
    patch_dynamodb_atomic_items()
    assert _count_after_concurrent_adds(table, "device-1#2026-11-28", writers=3) == 3


def test_the_patch_is_applied_once(table):
    from moto.dynamodb.models import DynamoDBBackend

    patch_dynamodb_atomic_items()
    wrapped = DynamoDBBackend.update_item
    patch_dynamodb_atomic_items()
    assert DynamoDBBackend.update_item is wrapped
