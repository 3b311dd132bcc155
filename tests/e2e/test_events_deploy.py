"""deploy.yml, drift.yml and destroy.yml, run as GitHub would run them (act on the host,
the embedded AWS, a fake GitHub API), on one emulator: push to dev, staging and main
(prod behind its approval), a clean drift check, drift made out of band, and the manual
destroy (prod refused, dev allowed from main)."""

from __future__ import annotations

import json

import pytest

from lib.config import load_all
from tests.e2e.events import STACKS

pytestmark = pytest.mark.emulator
TITLE = "Push, drift and destroy events through act: dev, staging, prod (approved), drift, destroy"

DEPLOY_JOBS = {
    "context",
    "synth",
    "scan",
    "changes",
    "plan",
    "plan-summary",
    "apply-level-0",
    "apply",
    "summary",
}
#: The suite's stacks are one dependency level deep: level 1 has nothing to apply.
ONE_LEVEL = {"apply-level-1": "skipped"}


@pytest.mark.parametrize(("branch", "env_name"), [("dev", "dev"), ("staging", "staging"), ("main", "prod")])
def test_push_applies_the_saved_plan_and_keeps_the_outputs(events, branch, env_name):
    ev = events
    approve = ["--approve", env_name] if load_all()[env_name].protection.approval_required else []
    assert ev.simulate(f"push {branch}", "push", "--branch", branch, *approve, skip="") == 0
    assert ev.jobs() == {**dict.fromkeys(DEPLOY_JOBS, "success"), **ONE_LEVEL}
    assert ev.state_keys(env_name, f"{env_name}/") == ev.expected_keys(env_name)
    flat = json.loads((ev.run_dir() / "artifacts" / f"outputs-{env_name}" / "flat-outputs.json").read_text())
    assert flat
    for stack in STACKS.split(","):
        sealed = ev.run_dir() / "artifacts" / f"plan-{stack}" / "sealed" / f"{stack}.sealed"
        assert sealed.read_bytes().startswith(b"TAPSEAL"), "each stack's saved plan crossed jobs sealed"
    subjects = {g["job"]: g["subject"] for g in ev.credentials()}
    assert subjects == {
        "changes": f"repo:acme/tap:ref:refs/heads/{branch}",
        "plan": f"repo:acme/tap:ref:refs/heads/{branch}",
        "apply-level-0": f"repo:acme/tap:environment:{env_name}",
        "apply": f"repo:acme/tap:environment:{env_name}",
    }


def test_a_second_push_of_the_same_tree_plans_and_applies_nothing(events):
    ev = events
    assert ev.simulate("push dev (no stack changed)", "push", "--branch", "dev", skip="") == 0
    jobs = ev.jobs()
    assert jobs == {
        **dict.fromkeys(DEPLOY_JOBS, "success"),
        **dict.fromkeys(("plan", "apply-level-0", "apply-level-1", "apply"), "skipped"),
    }
    changes = json.loads((ev.run_dir() / "artifacts" / "plan" / "cdktf.out" / "tap-changes.json").read_text())
    assert changes["any"] is False
    assert set(changes["unchanged"]) == set(STACKS.split(","))
    summary = (ev.run_dir() / "artifacts" / "plan" / "summary" / "plan.md").read_text()
    assert "No stack changes" in summary
    assert [g["job"] for g in ev.credentials() if g["granted"]] == ["changes"], (
        "no apply role was even asked for"
    )


def test_a_docs_only_pull_request_plans_and_deploys_nothing(events):
    """dev is deployed at this very tree (the pushes above), so a PR into dev changes no stack."""
    ev = events
    assert ev.simulate("pr12 opened (no stack changed)", "pull_request", "--pr", "12", "--base", "dev") == 0
    jobs = ev.jobs()
    assert jobs["changes"] == jobs["plan-summary"] == jobs["comment"] == "success"
    assert jobs["plan"] == "skipped", "no stack changed: no plan job at all"
    assert jobs["deploy-scope"] == jobs["deploy"] == jobs["integration"] == "skipped"
    assert jobs["report"] == "success"
    (comment,) = [c for c in ev.comments(12) if "<!-- tap-plan:dev -->" in c["body"]]
    ev.samples["The PR comment of a PR that changes no stack (`pr12`)"] = comment["body"]
    assert "No stack changes" in comment["body"]
    assert "Unchanged since their last apply" in comment["body"]
    assert ev.state_keys("pr", "pr12/") == []


def test_drift_with_no_change_is_green_and_opens_no_issue(events):
    ev = events
    assert ev.simulate("drift (clean)", "drift", skip="") == 0
    assert set(ev.jobs().values()) == {"success"}
    assert ev.issues() == []


def test_drift_made_out_of_band_opens_one_issue_and_a_second_run_no_other(events):
    ev = events
    flat = json.loads(
        (ev.run_dir("push-main") / "artifacts" / "outputs-prod" / "flat-outputs.json").read_text()
    )
    bucket = next(v for k, v in flat.items() if k.endswith("BucketName") and isinstance(v, str))
    ev.client("s3", "prod").put_bucket_tagging(
        Bucket=bucket, Tagging={"TagSet": [{"Key": "Environment", "Value": "tampered"}]}
    )
    assert ev.simulate("drift (drifted)", "drift", skip="") == 0
    (issue,) = ev.issues()
    ev.samples["The drift issue opened for prod"] = issue["body"]
    assert issue["title"] == "Drift detected in prod"
    assert issue["state"] == "open"
    assert issue["body"].startswith("<!-- tap-drift:prod -->")
    assert ev.simulate("drift (again)", "drift", skip="") == 0
    assert [i["number"] for i in ev.issues()] == [issue["number"]], "updated, not opened twice"


def test_destroy_dispatch_refuses_prod_and_destroys_dev_from_main(events):
    ev = events
    code = ev.simulate("destroy prod", "destroy", "--suffix", "prod", "--confirm", "prod", skip="")
    assert code == 1
    assert ev.jobs() == {
        "validate": "failure", "synth": "skipped", "destroy-level-1": "skipped", "destroy-level-0": "skipped",
    }  # fmt: skip
    log = (ev.run_dir() / "act.log").read_text()
    assert "environment 'prod' is protected" in log
    assert ev.state_keys("prod", "prod/") == ev.expected_keys("prod")
    assert (
        ev.simulate("destroy dev", "destroy", "--suffix", "dev", "--confirm", "dev", "--ref", "main", skip="")
        == 0
    )
    assert ev.jobs() == {
        "validate": "success", "synth": "success", "destroy-level-1": "skipped", "destroy-level-0": "success",
    }  # fmt: skip
    assert ev.state_keys("dev", "dev/") == []
