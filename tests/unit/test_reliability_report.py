"""The reliability report: fragments merged (latest run per test wins) into markdown."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from tests import reliability_report as rr


def fragment(directory, name, *records):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps([asdict(r) for r in records]))


def test_render_merges_fragments_and_keeps_the_latest_run(tmp_path, monkeypatch):
    monkeypatch.setenv("TAP_RELIABILITY_DIR", str(tmp_path / "frag"))
    old = rr.Record("t.py::a", "bad-input", "case-a", "x", "rule", "old error", "FAIL", 0.1, finished=1.0)
    new = rr.Record("t.py::a", "bad-input", "case-a", "x", "rule", "new | error", "pass", 0.2, finished=2.0)
    fault = rr.Record("e.py::f", "fault", "SIGINT", "sig", "stops", "exit 130", "pass", 30.0, finished=1.5)
    fragment(tmp_path / "frag", "gw0", old, fault)
    fragment(tmp_path / "frag", "gw1", new)
    out = tmp_path / "docs" / "reliability.md"
    assert rr.main(["render", "--out", str(out)]) == 0
    text = out.read_text()
    assert "**2 of 2 cases passed.**" in text
    assert "## Bad input (1/1 passed)" in text
    assert "| case-a | x | rule | new \\| error | pass | 0.2 |" in text
    assert "old error" not in text
    assert "## Faults (1/1 passed)" in text
    assert text.index("## Bad input") < text.index("## Faults")
    assert rr.main(["clean"]) == 0
    assert list((tmp_path / "frag").glob("*.json")) == []
    assert rr.main(["render", "--out", str(out)]) == 0
    assert "No records: run the unit and e2e tests first." in out.read_text()


def test_unknown_category_is_refused():
    with pytest.raises(ValueError, match="unknown category 'other'"):
        rr.Recorder("n").record(category="other", case="c", input="i", rule="r")
