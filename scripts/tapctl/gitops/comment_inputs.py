"""What the PR comment is rendered from: the summaries and plan text ``scripts/tap plan``
saved, and the integration tests' JUnit report."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path

from scripts.tapctl.gitops.comment import PlanReport
from scripts.tapctl.stages.plan import PLAN_SUMMARY
from scripts.tapctl.stages.plans import PlanSummary


def load_report(outdir: Path, report: PlanReport, *, expected: Iterable[str] = ()) -> PlanReport:
    """``report`` (environment, commit, title: what the caller knows) with the plans
    ``scripts/tap plan`` saved in ``outdir``: each stack's
    ``stacks/<stack>/plan-summary.json`` and ``plan.txt``, written by one command or by
    one matrix job each (their artifacts downloaded into one folder). A stack in
    ``expected`` (what ``changed`` said needs a plan) without a summary is shown as a
    failed plan: its job ended before it wrote one. No summary at all is an error."""
    summaries: dict[str, PlanSummary] = {}
    for path in sorted(outdir.glob(f"stacks/*/{PLAN_SUMMARY}")):
        data = json.loads(path.read_text(encoding="utf-8"))
        summaries.update({stack: PlanSummary.from_dict(d) for stack, d in data.items()})
    if not summaries:
        raise FileNotFoundError(f"{outdir}/stacks/*/{PLAN_SUMMARY}: none found: run `scripts/tap plan` first")
    for stack in (s for s in expected if s not in summaries):
        summaries[stack] = PlanSummary(
            stack=stack, error="no plan summary: its plan job ended before writing one"
        )
    texts = {}
    for stack in summaries:
        plan_txt = outdir / "stacks" / stack / "plan.txt"
        if plan_txt.exists():
            texts[stack] = plan_txt.read_text(encoding="utf-8", errors="replace")
    return dataclasses.replace(report, summaries=summaries, texts=texts)


def junit_counts(path: Path) -> dict[str, int] | None:
    """``{tests, failures, errors, skipped, passed}`` from a pytest JUnit XML file."""
    if not path.exists():
        return None
    root = ET.parse(path).getroot()  # noqa: S314 - our own pytest's report
    suites: Iterable[ET.Element] = [root] if root.tag == "testsuite" else root.iter("testsuite")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


def describe_tests(counts: Mapping[str, int] | None) -> str:
    if counts is None:
        return "no test report"
    text = f"{counts['passed']} passed, {counts['failures'] + counts['errors']} failed"
    return text + (f", {counts['skipped']} skipped" if counts["skipped"] else "")
