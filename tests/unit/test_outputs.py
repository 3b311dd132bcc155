"""Output flattening and the outputs file contract (scripts/tapctl/stages/outputs.py)."""

from __future__ import annotations

import json

import pytest

from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages.outputs import (
    OutputCollisionError,
    flatten,
    load_flat,
    nested_from_terraform,
    write,
)


def test_nested_from_terraform_drops_sensitive_values():
    raw = {
        "iot": json.dumps(
            {
                "ApiEndpoint": {"value": "https://x", "type": "string", "sensitive": False},
                "ApiKey": {"value": "s3cr3t", "type": "string", "sensitive": True},
            }
        ),
        "empty": "",
    }
    assert nested_from_terraform(raw) == {"iot": {"ApiEndpoint": "https://x"}, "empty": {}}


def test_flatten_merges_stacks():
    assert flatten({"a": {"X": 1}, "b": {"Y": [1, 2]}}) == {"X": 1, "Y": [1, 2]}


def test_flatten_collision_names_both_stacks():
    with pytest.raises(OutputCollisionError) as err:
        flatten({"data_pipeline": {"VpcId": "vpc-1"}, "platform": {"VpcId": "vpc-2"}})
    assert str(err.value) == (
        "output 'VpcId' is defined by both stack 'data_pipeline' and stack 'platform'; "
        "output names must be unique across stacks"
    )


def test_write_produces_flat_and_nested(tmp_path):
    flat, nested = write({"s": {"K": "v"}}, tmp_path / "out")
    assert json.loads(flat.read_text()) == {"K": "v"}
    assert json.loads(nested.read_text()) == {"s": {"K": "v"}}


def test_write_collision_writes_nothing(tmp_path):
    with pytest.raises(OutputCollisionError):
        write({"a": {"K": 1}, "b": {"K": 2}}, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "is missing"),
        ("", "is empty"),
        ("   \n", "is empty"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
    ],
)
def test_load_flat_errors(tmp_path, content, message):
    path = tmp_path / "flat-outputs.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(TapError, match=message):
        load_flat(path)


def test_load_flat_reads_object(tmp_path):
    path = tmp_path / "flat.json"
    path.write_text('{"A": "b"}')
    assert load_flat(path) == {"A": "b"}
