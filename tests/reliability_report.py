"""The reliability report: what bad input and which faults were tried, and what happened.

A pytest plugin. Tests ask for the ``reliability`` fixture and record each case
(category, input, rule, observed result); the plugin adds pass/fail from the
test's own outcome. Every pytest process (each xdist worker too) writes one
JSON fragment under ``.tap/reliability/`` at the end of its session; a final
step merges the fragments of the unit and e2e runs into ``build/reports/reliability.md``
(not tracked: it describes one run, so a test run never leaves the work tree dirty;
CI keeps it with the run's other reports):

    python -m tests.reliability_report render   # after the unit and e2e runs
    python -m tests.reliability_report clean    # forget fragments of earlier runs

The conftest files of tests/unit and tests/e2e install the plugin with
:func:`install`. Nothing in the report is written by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_NAME = "tap_reliability"
REPORT = Path(os.environ.get("TAP_REPORTS_DIR", ROOT / "build" / "reports")) / "reliability.md"
#: Category -> heading, in report order.
CATEGORIES = {"bad-input": "Bad input", "fault": "Faults"}


def fragments_dir() -> Path:
    return Path(os.environ.get("TAP_RELIABILITY_DIR", ROOT / ".tap" / "reliability"))


@dataclass
class Record:
    nodeid: str
    category: str
    case: str
    input: str
    rule: str
    observed: str = ""
    outcome: str = "not run"
    seconds: float = 0.0
    finished: float = field(default_factory=time.time)


class Recorder:
    """Handed to a test by the ``reliability`` fixture."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self.records: list[Record] = []

    def record(self, *, category: str, case: str, input: str, rule: str, observed: str = "") -> Record:
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}: use one of {', '.join(CATEGORIES)}")
        rec = Record(
            nodeid=self.nodeid, category=category, case=case, input=input, rule=rule, observed=observed
        )
        self.records.append(rec)
        return rec


class ReliabilityPlugin:
    def __init__(self) -> None:
        self.records: list[Record] = []
        self._current: dict[str, Recorder] = {}

    @pytest.fixture
    def reliability(self, request: pytest.FixtureRequest) -> Recorder:
        recorder = Recorder(request.node.nodeid)
        self._current[request.node.nodeid] = recorder
        return recorder

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
        outcome = yield
        report = outcome.get_result()
        recorder = self._current.get(item.nodeid)
        if recorder is None:
            return
        if report.when == "call" or (report.when == "setup" and report.failed):
            for rec in recorder.records:
                rec.outcome = "pass" if report.passed else "FAIL"
                rec.seconds = round(report.duration, 2)
                if report.failed and not rec.observed:
                    rec.observed = _short(str(report.longrepr).splitlines()[-1] if report.longrepr else "")
        if report.when == "teardown":
            self.records.extend(self._current.pop(item.nodeid).records)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.records:
            return
        worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
        out = fragments_dir()
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{worker}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(r) for r in self.records], indent=1))
        tmp.replace(path)


def install(config: pytest.Config) -> None:
    """Register the plugin once per pytest process (called from conftest ``pytest_configure``)."""
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(ReliabilityPlugin(), PLUGIN_NAME)


def _short(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TMP = re.compile(r"/tmp/pytest-of-[^/\s]+/pytest-\d+/")


def _cell(text: str, limit: int = 400) -> str:
    """One table cell: one line, pytest's temporary directories shown as <tmp>/."""
    return _short(_TMP.sub("<tmp>/", text), limit).replace("|", "\\|") or "—"


# -- rendering ---------------------------------------------------------------------


def load_fragments(directory: Path) -> list[Record]:
    """All records; for a test recorded by several runs, the latest run wins."""
    latest: dict[str, tuple[float, list[Record]]] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            data: list[dict[str, Any]] = json.loads(path.read_text())
        except ValueError as exc:
            raise SystemExit(f"reliability fragment {path} is not valid JSON: {exc}") from None
        by_node: dict[str, list[Record]] = {}
        for raw in data:
            rec = Record(**raw)
            by_node.setdefault(rec.nodeid, []).append(rec)
        for nodeid, recs in by_node.items():
            stamp = max(r.finished for r in recs)
            if nodeid not in latest or stamp > latest[nodeid][0]:
                latest[nodeid] = (stamp, recs)
    return [r for _, recs in latest.values() for r in recs]


def render(records: list[Record]) -> str:
    lines = [
        "# Reliability report",
        "",
        "Generated by the test run (`tests/reliability_report.py`); do not edit by hand.",
        "Every bad input below must be rejected before any Terraform or cloud call, with an",
        "error naming the input and the rule; every fault runs on the embedded AWS.",
        "",
    ]
    if not records:
        lines.append("No records: run the unit and e2e tests first.")
        return "\n".join(lines) + "\n"
    passed = sum(r.outcome == "pass" for r in records)
    lines += [f"**{passed} of {len(records)} cases passed.**", ""]
    for category, heading in CATEGORIES.items():
        rows = sorted((r for r in records if r.category == category), key=lambda r: (r.nodeid, r.case))
        if not rows:
            continue
        lines += [
            f"## {heading} ({sum(r.outcome == 'pass' for r in rows)}/{len(rows)} passed)",
            "",
            "| case | input | rule | observed | result | s |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {_cell(r.case)} | {_cell(r.input)} | {_cell(r.rule)} | {_cell(r.observed, 1200)} "
            f"| {r.outcome} | {r.seconds:g} |"
            for r in rows
        ]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability_report")
    parser.add_argument("action", choices=("render", "clean"))
    parser.add_argument("--out", type=Path, default=REPORT, help="markdown file (default: %(default)s)")
    args = parser.parse_args(argv)
    directory = fragments_dir()
    if args.action == "clean":
        for path in directory.glob("*.json"):
            path.unlink()
        return 0
    records = load_fragments(directory) if directory.is_dir() else []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(records))
    failed = [r for r in records if r.outcome != "pass"]
    print(f"wrote {args.out}: {len(records)} case(s), {len(failed)} not passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
