"""The PR comment with change detection: unchanged stacks listed (not planned), and a
change that touches no stack says so instead of failing for want of a plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.config import resolve_target
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import changes, comment_cli
from scripts.tapctl.gitops.changes import Changed, Changes
from scripts.tapctl.stages.fingerprint import Record
from scripts.tapctl.stages.plans import PlanSummary

DEV = resolve_target("dev")
APPLIED = {
    "platform": Record("f1", "1111111111112222", "2026-11-27T10:00:00+00:00"),
    "iot_pipeline": Record("f2", "3333333333334444", "2026-11-27T10:00:00+00:00"),
}


@pytest.fixture
def outdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "cdktf.out"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    (tmp_path / "cdktf.out").mkdir()
    return tmp_path / "cdktf.out"


def save_summary(outdir: Path, summary: PlanSummary) -> None:
    """What one plan (or one matrix job's downloaded artifact) leaves for a stack."""
    folder = outdir / "stacks" / summary.stack
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan-summary.json").write_text(json.dumps({summary.stack: summary.to_dict()}))


def render(outdir: Path, **kwargs) -> str:
    out = outdir.parent / "comment.md"
    assert comment_cli.command(DEV, out=out, commit="abcdef1234567890", **kwargs) == 0
    return out.read_text()


def test_no_stack_changes_renders_without_a_plan(outdir):
    changes.save(Changes("dev", "dev", [], dict(APPLIED)), outdir)
    body = render(outdir, results=["deploy=skipped"], results_title="Ephemeral environment pr12")
    assert body.startswith("<!-- tap-plan:dev -->\n### Terraform plan · `dev`")
    assert "**No stack changes.** This change leaves all 2 stacks of `dev` as last applied" in body
    assert "`iot_pipeline` (since `333333333333`)" in body
    assert "`platform` (since `111111111111`)" in body
    assert "| deploy | ⏭️ skipped |" in body


def test_changed_stacks_are_planned_and_the_others_listed_as_unchanged(outdir):
    changes.save(Changes("dev", "dev", [Changed("file_processing", 0, "differs")], dict(APPLIED)), outdir)
    summary = PlanSummary("file_processing", change=1)
    save_summary(outdir, summary)
    body = render(outdir)
    assert "`file_processing`" in body
    assert "**Unchanged since their last apply, not planned** (2)" in body
    assert "No stack changes" not in body


def test_a_missing_plan_is_still_an_error_when_stacks_changed_or_nothing_was_detected(outdir):
    with pytest.raises(TapError, match="run `scripts/tap plan` first"):
        render(outdir)
    changes.save(Changes("dev", "dev", [Changed("platform", 0, "no record of an apply")], {}), outdir)
    with pytest.raises(TapError, match="run `scripts/tap plan` first"):
        render(outdir)


def test_without_change_detection_the_comment_is_as_before(outdir):
    summary = PlanSummary("platform")
    save_summary(outdir, summary)
    body = render(outdir)
    assert "Unchanged since" not in body
    assert "No changes." in body


def test_one_job_per_stack_the_comment_merges_their_summaries(outdir):
    both = [Changed("transaction_images", 0, "differs"), Changed("transaction_pipeline", 1, "depends on it")]
    changes.save(Changes("dev", "dev", both, dict(APPLIED)), outdir)
    save_summary(outdir, PlanSummary("transaction_images", add=1))
    save_summary(outdir, PlanSummary("transaction_pipeline", change=2))
    body = render(outdir)
    assert "`transaction_images`" in body
    assert "`transaction_pipeline`" in body
    assert "2 stacks" in body
    assert "no plan summary" not in body


def test_a_changed_stack_whose_job_left_no_summary_is_a_failed_plan(outdir):
    both = [Changed("transaction_images", 0, "differs"), Changed("transaction_pipeline", 1, "depends on it")]
    changes.save(Changes("dev", "dev", both, dict(APPLIED)), outdir)
    save_summary(outdir, PlanSummary("transaction_images", add=1))
    body = render(outdir)
    assert "no plan summary: its plan job ended before writing one" in body
    assert "`transaction_pipeline`" in body
