"""The janitor's decisions and its view of the state bucket; the drift issue metadata."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scripts.tapctl.gitops import drift, janitor
from scripts.tapctl.gitops.janitor import EphemeralEnv
from scripts.tapctl.stages.plans import PlanSummary

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class FakeS3:
    def __init__(self, objects: dict[str, datetime]) -> None:
        self.objects = objects

    def get_paginator(self, name: str):
        assert name == "list_objects_v2"
        objects = self.objects

        class Paginator:
            def paginate(self, Bucket: str):
                keys = sorted(objects)
                yield {"Contents": [{"Key": k, "LastModified": objects[k]} for k in keys[:2]]}
                yield {"Contents": [{"Key": k, "LastModified": objects[k]} for k in keys[2:]]}

        return Paginator()


def test_list_ephemeral_groups_state_keys_by_suffix():
    s3 = FakeS3(
        {
            "pr7/file_processing.tfstate": NOW - timedelta(hours=5),
            "pr7/platform.tfstate": NOW - timedelta(hours=1),
            "pr12/file_processing.tfstate": NOW - timedelta(hours=100),
            "dev/file_processing.tfstate": NOW - timedelta(hours=500),  # long-lived: never touched
            "pr7/file_processing.tfstate.tflock": NOW,  # a lock file is not state
            "bootstrap/github-oidc.tfstate": NOW,
        }
    )
    envs = janitor.list_ephemeral(s3, "bucket", r"^pr[0-9]+$")
    assert [(e.suffix, sorted(e.stacks), e.pr) for e in envs] == [
        ("pr7", ["file_processing", "platform"], 7),
        ("pr12", ["file_processing"], 12),
    ]
    assert envs[0].last_write == NOW - timedelta(hours=1), "the newest write is the last deploy"


def test_decide_closed_prs_and_ttl():
    envs = [
        EphemeralEnv("pr1", ["file_processing"], NOW - timedelta(hours=1)),  # closed
        EphemeralEnv("pr2", ["file_processing"], NOW - timedelta(hours=80)),  # open, idle past TTL
        EphemeralEnv("pr3", ["file_processing"], NOW - timedelta(hours=71)),  # open, within TTL
    ]
    verdicts = janitor.decide(envs, open_prs={2, 3}, ttl_hours=72, now=NOW)
    assert [(v.env.suffix, v.destroy) for v in verdicts] == [("pr1", True), ("pr2", True), ("pr3", False)]
    assert verdicts[0].reason == "pull request #1 is not open"
    assert verdicts[1].reason == "last deployed 80.0 h ago, over the 72 h TTL"
    assert verdicts[2].reason == "PR open, last deployed 71.0 h ago"


def test_decide_without_pr_list_uses_the_ttl_only():
    envs = [EphemeralEnv("pr1", ["file_processing"], NOW - timedelta(hours=1))]
    assert janitor.decide(envs, open_prs=None, ttl_hours=72, now=NOW)[0].destroy is False


def test_sweep_refuses_state_without_code(tmp_path):
    from lib.config import load_all

    template = load_all()["pr"]
    verdict = janitor.Verdict(EphemeralEnv("pr9", ["retired_stack"], NOW), True, "closed")
    outcomes, failures = janitor.sweep(lambda s: None, template, [verdict], workroot=tmp_path)  # type: ignore[arg-type,return-value]
    assert failures == ["pr9"]
    assert outcomes["pr9"].startswith("FAILED: state for stack(s) retired_stack has no code in this branch")


def test_drift_issue_meta():
    drifted = drift.DriftResult({"file_processing": PlanSummary("file_processing", change=1)}, {})
    meta = drift.issue_meta(drifted, env="dev", report_name="drift-dev.md")
    assert meta["marker"] == "<!-- tap-drift:dev -->"
    assert meta["title"] == "Drift detected in dev"
    assert meta["open_issue"] is True
    clean = drift.DriftResult({"file_processing": PlanSummary("file_processing")}, {})
    assert drift.issue_meta(clean, env="dev", report_name="x.md")["open_issue"] is False
    failed = drift.DriftResult({"file_processing": PlanSummary("file_processing", error="boom")}, {})
    assert failed.failed
    assert drift.issue_meta(failed, env="dev", report_name="x.md")["title"] == "Drift check failed for dev"
    text = drift.render_report(drifted, env="dev", suffix="dev", commit="abc", run_url=None)
    assert text.startswith("<!-- tap-drift:dev -->\n### Drift detected · `dev`")
