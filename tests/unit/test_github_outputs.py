"""``$GITHUB_OUTPUT`` is written in the delimited form with a random delimiter per value
(issue 11): a fixed delimiter, or ``key=value``, lets a value that contains it (a branch or a
title chosen by whoever opens a PR) end the entry early and set other outputs."""

from __future__ import annotations

import re

import pytest

from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import github

BLOCK = re.compile(r"(?P<key>[\w-]+)<<(?P<d>ghadelimiter_[0-9a-f]{32})\n(?P<value>.*?)\n(?P=d)\n", re.S)


def _blocks(text: str) -> list[re.Match[str]]:
    found, pos = [], 0
    while pos < len(text):
        match = BLOCK.match(text, pos)
        assert match, f"not a delimited entry at {pos}: {text[pos : pos + 60]!r}"
        found.append(match)
        pos = match.end()
    return found


def test_every_value_is_written_delimited_with_its_own_random_delimiter(tmp_path):
    target = tmp_path / "out"
    env = {"GITHUB_OUTPUT": str(target)}
    github.write_outputs({"environment": "dev", "matrix": '[{"a": 1}]'}, environ=env)
    github.write_outputs({"environment": "dev"}, environ=env)
    blocks = _blocks(target.read_text())
    assert [b["key"] for b in blocks] == ["environment", "matrix", "environment"]
    assert [b["value"] for b in blocks] == ["dev", '[{"a": 1}]', "dev"]
    assert len({b["d"] for b in blocks}) == 3, "a fresh delimiter for each write"


def test_a_value_cannot_inject_another_output(tmp_path):
    target = tmp_path / "out"
    hostile = "feature/x\nEOF\napply_role=arn:aws:iam::1:role/admin\nTAP_EOF_7f3a\nx=y"
    github.write_outputs({"branch": hostile, "suffix": "pr1"}, environ={"GITHUB_OUTPUT": str(target)})
    assert github.read_outputs(target) == {"branch": hostile, "suffix": "pr1"}


def test_a_value_holding_the_delimiter_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    target = tmp_path / "out"
    monkeypatch.setattr(github.secrets, "token_hex", lambda n: "ab" * n)
    value = "x\nghadelimiter_" + "ab" * 16 + "\nevil=1"
    with pytest.raises(TapError, match="contains its delimiter"):
        github.write_outputs({"ok": "1", "branch": value}, environ={"GITHUB_OUTPUT": str(target)})
    assert not target.exists()


@pytest.mark.parametrize("key", ["", "a b", "a\nb", "x<<y", "k=v"])
def test_a_bad_output_name_is_refused(key, tmp_path):
    with pytest.raises(TapError, match="step output name"):
        github.write_outputs({key: "1"}, environ={"GITHUB_OUTPUT": str(tmp_path / "out")})


def test_read_outputs_understands_both_forms(tmp_path):
    path = tmp_path / "out"
    path.write_text("a=1\nb<<EOF\nx\ny\nEOF\nc=p<<q\n")
    assert github.read_outputs(path) == {"a": "1", "b": "x\ny", "c": "p<<q"}
