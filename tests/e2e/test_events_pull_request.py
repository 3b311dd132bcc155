"""pull-request.yml and pr-closed.yml, run as GitHub would run them (act, on the host,
against the embedded AWS and a fake GitHub API), one event after another on one emulator:
opened -> synchronize -> fork -> refused promotion -> retarget -> janitor -> closed.
Each test asserts job results, the PR comment and the cloud's state afterwards."""

from __future__ import annotations

import json

import pytest

from lib.config import load_environment
from scripts.tapctl import cli
from scripts.tapctl.gitops.act.github_fake import Store
from tests.e2e.events import FULL

pytestmark = pytest.mark.emulator
TITLE = "Pull request events through act: opened, synchronize, fork, refused, retargeted, janitor, closed"

MARKER = "<!-- Sticky Pull Request Comment" + "tap-plan -->"
#: A PR the promotion rule refuses: its synth (run in parallel, by every other event here too)
#: has no bearing on what is asserted, so it is stubbed like lint and unit.
REFUSED = "lint,unit,synth"


def plan_comments(ev, pr: int) -> list[dict]:
    return [c for c in ev.comments(pr) if MARKER in c["body"]]


def test_opened_into_dev_plans_deploys_tests_and_comments_once(events):
    ev = events
    assert ev.simulate("pr7 opened", "pull_request", "--pr", "7", "--base", "dev", "--head", "feature/x") == 0
    jobs = ev.jobs()
    expected = "success" if FULL else "stubbed"
    assert jobs == {
        "context": "success", "promotion": "success", "lint": expected, "unit": expected, "synth": "success",
        "changes": "success", "plan": "success", "plan-summary": "success", "comment": "success",
        "deploy-scope": "success", "deploy-level-0": "success", "deploy-level-1": "skipped",
        "deploy": "success", "integration": "success", "report": "success",
    }  # fmt: skip
    (comment,) = plan_comments(ev, 7)
    body = comment["body"]
    ev.samples["The PR comment after `pr7 opened` (as posted to the fake GitHub)"] = body
    assert body.startswith("<!-- tap-plan:dev -->\n### Terraform plan · `dev`")
    assert "#### Ephemeral environment pr7" in body
    assert "| deploy | ✅ success |" in body
    assert "| integration tests | ✅ success |" in body
    assert ev.state_keys("pr", "pr7/") == ev.expected_keys("pr7"), "pr7 is deployed and still up"
    flat = json.loads((ev.run_dir() / "artifacts" / "outputs-pr7" / "flat-outputs.json").read_text())
    assert flat, "the outputs artifact holds the stacks' outputs"
    grants = {(g["job"], g["subject"]) for g in ev.credentials() if g["granted"]}
    assert grants == {
        ("changes", "repo:acme/tap:pull_request"),
        ("plan", "repo:acme/tap:pull_request"),
        ("deploy-scope", "repo:acme/tap:environment:pr"),
        ("deploy-level-0", "repo:acme/tap:environment:pr"),
        ("deploy", "repo:acme/tap:environment:pr"),
        ("integration", "repo:acme/tap:environment:pr"),
    }
    assert not [g for g in ev.credentials() if not g["granted"]]


def test_synchronize_replaces_the_comment_instead_of_adding_one(events):
    ev = events
    (before,) = plan_comments(ev, 7)
    patches = sum(1 for c in ev.github()["calls"] if c["method"] == "PATCH")
    assert (
        ev.simulate(
            "pr7 synchronize", "pull_request", "--pr", "7", "--base", "dev", "--action", "synchronize"
        )
        == 0
    )
    not_run = {j: r for j, r in ev.jobs().items() if r not in ("success", "stubbed")}
    assert not_run == {"deploy-level-0": "skipped", "deploy-level-1": "skipped"}, (
        "pr7 already holds this tree's stacks: nothing to apply, outputs and tests again"
    )
    (after,) = plan_comments(ev, 7)
    assert after["id"] == before["id"]
    assert sum(1 for c in ev.github()["calls"] if c["method"] == "PATCH") == patches + 2, (
        "comment, then report"
    )


def test_a_fork_gets_no_credentials_and_nothing_is_deployed(events):
    ev = events
    code = ev.simulate("pr8 fork", "pull_request", "--pr", "8", "--base", "dev", "--fork", "mallory/tap")
    assert code == 0
    jobs = ev.jobs()
    assert {j for j, r in jobs.items() if r == "skipped"} == {
        "changes", "plan", "plan-summary", "comment", "deploy-scope", "deploy-level-0", "deploy-level-1",
        "deploy", "integration", "report",
    }  # fmt: skip
    assert ev.credentials() == [], "no job of a fork PR even asked for a role"
    assert ev.state_keys("pr", "pr8/") == []
    assert ev.comments(8) == []


def test_feature_into_main_is_refused_and_nothing_is_planned(events):
    ev = events
    argv = ("pull_request", "--pr", "9", "--base", "main", "--head", "feature/y")
    code = ev.simulate("pr9 feature->main", *argv, skip=REFUSED)
    assert code == 1
    jobs = ev.jobs()
    assert jobs["promotion"] == "failure"
    assert jobs["plan"] == jobs["deploy"] == jobs["integration"] == "skipped"
    assert jobs["report"] == "success"
    (comment,) = plan_comments(ev, 9)
    assert "**Not planned:**" in comment["body"]
    assert "| promotion | ❌ failure |" in comment["body"]
    ev.samples["The PR comment of a refused PR (`pr9 feature->main`)"] = comment["body"]
    assert ev.credentials() == []
    assert ev.state_keys("pr", "pr9/") == []


def test_an_edit_without_a_new_base_runs_nothing(events):
    ev = events
    assert (
        ev.simulate("pr7 edited (title)", "pull_request", "--pr", "7", "--base", "dev", "--action", "edited")
        == 0
    )
    assert set(ev.jobs().values()) == {"skipped"}


def test_retargeting_dev_to_main_reruns_promotion_and_replaces_the_green_comment(events):
    ev = events
    (before,) = plan_comments(ev, 7)
    assert "**Not planned:**" not in before["body"]
    code = ev.simulate(
        "pr7 retargeted", "pull_request", "--pr", "7", "--base", "main", "--head", "feature/x",
        "--action", "edited", "--previous-base", "dev", skip=REFUSED,
    )  # fmt: skip
    assert code == 1
    assert ev.jobs()["promotion"] == "failure"
    assert ev.jobs()["plan"] == "skipped"
    (after,) = plan_comments(ev, 7)
    assert after["id"] == before["id"]
    assert after["body"].startswith("<!-- tap-plan:prod -->")
    assert "**Not planned:**" in after["body"]


#: What the orphan holds: the smallest stack (ECR repositories), which the janitor must find by
#: its state alone (the event's own stacks are file_processing) and destroy.
ORPHAN_STACK = "transaction_images"


def orphan_repositories(ev) -> list[str]:
    region = load_environment("pr").region_for(ORPHAN_STACK)
    found = ev.client("ecr", "pr", region).describe_repositories()["repositories"]
    return [r["repositoryName"] for r in found if r["repositoryName"].endswith("-pr11")]


def orphan(ev, pr: int) -> None:
    """pr<N> deployed, its PR closed on GitHub, its close-time destroy lost (the janitor's case)."""
    suffix = f"pr{pr}"
    for argv in (["synth", "--stacks", ORPHAN_STACK], ["bootstrap"], ["plan"], ["apply"]):
        assert cli.main([*argv, "-e", "pr", "-s", suffix]) == 0
    store = Store(ev.out / "github.json")
    data = store.load()
    data["pulls"][str(pr)] = {"number": pr, "state": "closed", "base": "dev"}
    store.save(data)


def test_janitor_destroys_an_orphan_and_keeps_the_environment_of_an_open_pr(events):
    ev = events
    orphan(ev, 11)
    assert ev.state_keys("pr", "pr11/") == ev.expected_keys("pr11", [ORPHAN_STACK])
    assert orphan_repositories(ev), "the orphan's resources exist"
    assert ev.simulate("janitor", "janitor", skip="") == 0
    assert ev.jobs() == {"context": "success", "janitor": "success"}
    assert ev.state_keys("pr", "pr11/") == [], "PR 11 is closed: its environment is swept"
    assert orphan_repositories(ev) == [], "and its resources destroyed"
    assert ev.state_keys("pr", "pr7/") == ev.expected_keys("pr7"), "PR 7 is open: kept"


def test_closed_destroys_pr7_and_its_state(events):
    ev = events
    assert ev.simulate("pr7 closed", "close", "--pr", "7", skip="") == 0
    assert ev.jobs() == {
        "context": "success", "synth": "success", "destroy-level-1": "skipped", "destroy-level-0": "success",
    }  # fmt: skip
    assert ev.state_keys("pr", "pr7/") == []
    (grant,) = ev.credentials()
    assert grant["subject"] == "repo:acme/tap:environment:pr"
