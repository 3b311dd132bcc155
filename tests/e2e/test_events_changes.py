"""Change-aware pull requests through act: what a PR changes decides what is planned and deployed.

``dev`` holds three stacks, applied by an earlier merge (the CLI, here): the transaction
images, the transaction pipeline that depends on them, and file processing. Each test
opens a PR whose head is a real tree with one edit (``simulate --worktree``) and runs
pull-request.yml through act: the `changes` job compares each synthesized stack's
fingerprint with dev's records; one `plan` runner per changed stack; the ephemeral
environment gets only the changed stacks, a level at a time.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime

import pytest

from scripts.tapctl import cli
from scripts.tapctl.core import paths
from tests.e2e.events import pull_request_tree

pytestmark = pytest.mark.emulator
TITLE = "Change-aware pull requests through act: a shared construct, one handler, a dependency"

IMAGES, PIPELINE, FILES = "transaction_images", "transaction_pipeline", "file_processing"
#: transaction_pipeline depends on transaction_images (its functions' ECR repositories).
SUITE_STACKS = ",".join((IMAGES, PIPELINE, FILES))
#: The deploy jobs, replaced by a no-op where a test is about what is planned.
DEPLOY_JOBS = "deploy-scope,deploy,integration"


@pytest.fixture(scope="module")
def dev(events) -> str:
    """dev as a merge left it: every suite stack applied, its fingerprint recorded; the commit."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True, text=True, check=True
    )
    for argv in (["synth", "--stacks", SUITE_STACKS], ["bootstrap"], ["plan"], ["apply"]):
        assert cli.main([*argv, "-e", "dev"]) == 0
    assert events.state_keys("dev", "dev/") == events.expected_keys("dev")
    return head.stdout.strip()


def open_pr(
    ev, tmp_path_factory, pr: int, edits: dict[str, tuple[str, str]], *, skip: str = "lint,unit"
) -> int:
    tree = pull_request_tree(tmp_path_factory.mktemp(f"pr{pr}-head"), edits)
    label = f"pr{pr} opened ({', '.join(edits)})"
    return ev.simulate(
        label, "pull_request", "--pr", str(pr), "--base", "dev", "--worktree", str(tree), skip=skip
    )


def changed(ev) -> dict[str, tuple[int, str]]:
    """What the `changes` job found: stack -> (dependency level, reason)."""
    (path,) = (ev.run_dir() / "artifacts" / "changes").rglob("tap-changes.json")
    include = json.loads(path.read_text())["matrix"]["include"]
    return {c["stack"]: (c["level"], c["reason"]) for c in include}


def planned(ev) -> set[str]:
    """The stacks a `plan` runner ran for: each uploads its stack's summary as `plan-<stack>`."""
    found = set()
    for folder in (ev.run_dir() / "artifacts").glob("plan-*"):
        stack = folder.name.removeprefix("plan-")
        summaries = [p.parent.name for p in folder.rglob("plan-summary.json")]
        assert summaries == [stack], f"{folder.name} holds {summaries}"
        found.add(stack)
    return found


def spans(ev) -> dict[str, tuple[float, float]]:
    """job -> (first, last) timestamp of its lines in act's log (every matrix entry's)."""
    seen: dict[str, tuple[float, float]] = {}
    for line in (ev.run_dir() / "act.log").read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if "jobID" in rec and "time" in rec:
            t = datetime.fromisoformat(rec["time"].replace("Z", "+00:00")).timestamp()
            first, last = seen.get(rec["jobID"], (t, t))
            seen[rec["jobID"]] = (min(first, t), max(last, t))
    return seen


def comment(ev, pr: int) -> str:
    (body,) = [c["body"] for c in ev.comments(pr) if c["body"].startswith("<!-- tap-plan:")]
    return body


def test_a_shared_construct_change_plans_every_stack_that_uses_it(events, dev, tmp_path_factory):
    """The Lambda construct's role description: both stacks with functions move, the
    images stack (no function) does not; a file-glob rule on lib/stacks/ would see nothing."""
    ev = events
    edit = {
        "lib/constructs/lambda_function.py": (
            "Execution role of Lambda",
            "Execution role of the Lambda function",
        )
    }
    assert open_pr(ev, tmp_path_factory, 31, edit, skip=f"lint,unit,{DEPLOY_JOBS}") == 0
    found = changed(ev)
    assert set(found) == {PIPELINE, FILES}
    assert {level for level, _ in found.values()} == {0}, "the images stack is unchanged: nothing to wait for"
    assert all(reason.startswith("differs from the apply of") for _, reason in found.values())
    assert planned(ev) == {PIPELINE, FILES}, "one plan runner per stack using the construct, no other"
    body = comment(ev, 31)
    ev.samples["The PR comment of a shared-construct change (`pr31`)"] = body
    assert f"`{IMAGES}` (since `{dev[:12]}`)" in body, "the untouched stack is listed as unchanged"
    assert f"`{PIPELINE}`" in body
    assert f"`{FILES}`" in body
    assert ev.jobs()["deploy-level-0"] == "skipped", "deploy jobs stubbed here: this test is about planning"


def test_a_handler_edit_plans_and_deploys_that_stack_alone(events, dev, tmp_path_factory):
    ev = events
    handler = "lib/lambda/file_processing/image_processor/handler.py"
    edit = {handler: ("LOG.info(json.dumps(summary))", "LOG.info(json.dumps(summary, sort_keys=True))")}
    assert open_pr(ev, tmp_path_factory, 32, edit) == 0
    assert changed(ev) == {FILES: (0, f"differs from the apply of {dev[:12]}")}
    assert planned(ev) == {FILES}
    jobs = ev.jobs()
    assert jobs["deploy-level-0"] == jobs["deploy"] == jobs["integration"] == "success"
    assert jobs["deploy-level-1"] == "skipped", "nothing of level 1 changed"
    assert ev.state_keys("pr", "pr32/") == ev.expected_keys("pr32", [FILES]), (
        "pr32 holds file_processing only"
    )
    applied = [g["job"] for g in ev.credentials() if g["granted"] and g["job"].startswith("deploy-level")]
    assert applied == ["deploy-level-0"], "one deploy runner: the changed stack's"
    body = comment(ev, 32)
    assert f"`{IMAGES}` (since `{dev[:12]}`)" in body
    assert f"`{PIPELINE}` (since `{dev[:12]}`)" in body


def test_a_change_to_a_stack_another_depends_on_deploys_both_in_order(events, dev, tmp_path_factory):
    """dev keeps more images (a setting, data): transaction_pipeline reads the images
    stack's repositories, so it is planned too, and deployed after it (level 1 after 0)."""
    ev = events
    edit = {
        "environments/dev.yaml": (
            "settings:\n",
            "settings:\n  transaction_images:\n    image_retention_count: 20\n",
        )
    }
    assert open_pr(ev, tmp_path_factory, 33, edit) == 0
    assert changed(ev) == {
        IMAGES: (0, f"differs from the apply of {dev[:12]}"),
        PIPELINE: (1, f"depends on {IMAGES}"),
    }
    assert planned(ev) == {IMAGES, PIPELINE}
    jobs = ev.jobs()
    assert (
        jobs["deploy-level-0"] == jobs["deploy-level-1"] == jobs["deploy"] == jobs["integration"] == "success"
    )
    span = spans(ev)
    assert span["deploy-level-0"][1] <= span["deploy-level-1"][0], "level 1 starts after level 0 ends"
    assert span["deploy-level-1"][1] <= span["deploy"][0]
    assert ev.state_keys("pr", "pr33/") == ev.expected_keys("pr33", [IMAGES, PIPELINE]), (
        "file_processing is not deployed to pr33: the PR does not change it"
    )
    body = comment(ev, 33)
    ev.samples["The PR comment of a change to a stack another depends on (`pr33`)"] = body
    assert f"`{FILES}` (since `{dev[:12]}`)" in body
    assert f"`{IMAGES}` (since" not in body
    assert f"`{PIPELINE}` (since" not in body
