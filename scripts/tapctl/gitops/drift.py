"""Drift: ``terraform plan -detailed-exitcode`` for every stack of a deployed environment.

Exit code 2 from Terraform means the real infrastructure (or the code on the
branch) no longer matches the state. The report is the same Markdown as the PR
comment, with its own marker, so the drift workflow can open or update one
issue per environment with it (``drift-issues``). A scheduled check never takes
the live state lock, and a stack that cannot be planned is reported, not raised,
until the report is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lib.config import Target
from scripts.tapctl.core.errors import StageFailed
from scripts.tapctl.gitops import commits, github
from scripts.tapctl.gitops.comment import PlanReport, marker, render
from scripts.tapctl.stages.plans import PlanSummary, summarize
from scripts.tapctl.stages.session import Session, SessionOptions, ready_session

DRIFT_PLAN = "drift.tfplan"
DRIFT_SUMMARY = "drift-summary.json"


@dataclass
class DriftResult:
    summaries: dict[str, PlanSummary]
    texts: dict[str, str]

    @property
    def drifted(self) -> bool:
        return any(s.has_changes or s.output_changes for s in self.summaries.values())

    @property
    def failed(self) -> bool:
        return any(s.error for s in self.summaries.values())


def detect(session: Session) -> DriftResult:
    """Plan each stack with ``-detailed-exitcode``; errors are kept per stack, not raised."""
    texts: dict[str, str] = {}

    def one(stack: str) -> PlanSummary:
        tf = session.tf(stack)
        tf.init()
        # A scheduled check never holds the live state lock (an approved apply must not wait).
        changed = tf.plan(DRIFT_PLAN, detailed=True, lock=False)
        if not changed:
            return PlanSummary(stack)
        raw = tf.show_json(DRIFT_PLAN)
        texts[stack] = tf.show_text(DRIFT_PLAN)
        summary = summarize(stack, raw)
        if not summary.has_changes and not summary.output_changes:
            summary.output_changes = 1  # exit code 2 without resource changes: outputs or moved blocks
        return summary

    # unordered: a read-only plan of one stack needs nothing of another's
    results = session.run_stacks("drift", one, ordered=False, describe=PlanSummary.counts)
    summaries = {s: r.value or PlanSummary(stack=s, error=r.error) for s, r in results.items()}
    (session.outdir / DRIFT_SUMMARY).write_text(
        json.dumps({s: p.to_dict() for s, p in summaries.items()}, indent=2), encoding="utf-8"
    )
    return DriftResult(summaries=summaries, texts=texts)


def render_report(
    result: DriftResult, *, env: str, suffix: str, commit: str | None, run_url: str | None
) -> str:
    """The issue body: ``<!-- tap-drift:<env> -->`` marker, table, details."""
    return render(
        PlanReport(
            env=env,
            suffix=suffix,
            summaries=result.summaries,
            texts=result.texts,
            commit=commit,
            run_url=run_url,
            title="Drift check" if not result.drifted else "Drift detected",
            kind="drift",
        )
    )


def issue_meta(result: DriftResult, *, env: str, report_name: str) -> dict[str, object]:
    """What the drift workflow's posting step needs: the CLI decides, the script only posts."""
    title = f"Drift detected in {env}" if result.drifted else f"Drift check failed for {env}"
    return {
        "environment": env,
        "report": report_name,
        "marker": marker(env, "drift"),
        "title": title,
        "open_issue": result.drifted or result.failed,
        "resolved": f"No drift in `{env}` any more: every stack matches its state. Closing.",
    }


def write_issue_meta(report_path: Path, result: DriftResult, *, env: str) -> Path:
    path = report_path.with_suffix(".json")
    path.write_text(json.dumps(issue_meta(result, env=env, report_name=report_path.name), indent=2) + "\n")
    return path


def write_report(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(session: Session, *, report: Path, commit: str | None) -> DriftResult:
    """Detect drift, write the report and its issue metadata, set step outputs."""
    target = session.target
    result = detect(session)
    text = render_report(
        result, env=target.env.name, suffix=target.suffix, commit=commit, run_url=github.run_url()
    )
    write_report(report, text)
    write_issue_meta(report, result, env=target.env.name)
    github.append_step_summary(text)
    github.write_outputs({"drifted": str(result.drifted).lower(), "failed": str(result.failed).lower()})
    state = "drift detected" if result.drifted else "no drift"
    print(f"{target.env.name}: {state}; report: {report}")
    if result.failed:
        raise StageFailed(f"drift check could not plan every stack of {target.env.name}; see {report}")
    return result


def command(target: Target, options: SessionOptions, *, report: Path, commit: str | None) -> int:
    session = ready_session(target, options)
    # The job checks out the environment's branch; $GITHUB_SHA is the workflow's (main's).
    run(session, report=report, commit=commit or commits.checked_out())
    return 0
