"""``scripts/tap plan --speculative`` (issue 11): PR plans of staging/prod took the live state
lock, so a PR plan could make an approved prod apply wait or fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.config import resolve_target
from scripts.tapctl import cli
from scripts.tapctl.cli.dispatch import COMMANDS
from scripts.tapctl.cli.parser import build_parser
from scripts.tapctl.core import terraform
from scripts.tapctl.core.cloud import Cloud
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages import apply, plan
from scripts.tapctl.stages import session as stage_session
from scripts.tapctl.stages.session import SYNTH_METADATA, Session, SessionOptions
from tests.unit.fake_terraform import recording_terraform, stack_workdir

STACKS = ("iot_pipeline", "platform")
PLAN = {"resource_changes": [{"address": "aws_sqs_queue.q", "change": {"actions": ["update"]}}]}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    return stack_workdir(tmp_path, monkeypatch, "stack")


def test_speculative_plan_runs_terraform_without_the_lock(tmp_path, workdir):
    binary, calls = recording_terraform(tmp_path)
    tf = terraform.Terraform(binary, workdir, {}, "x", lock_timeout="7s")
    tf.plan("speculative.tfplan", lock=False)
    tf.plan("tfplan")
    speculative, saved = (line.split() for line in calls.read_text().splitlines())
    assert speculative == ["plan", "-input=false", "-no-color", "-lock=false", "-out=speculative.tfplan"]
    assert saved == ["plan", "-input=false", "-no-color", "-lock-timeout=7s", "-out=tfplan"]


class FakeTerraform:
    """Writes the plan file like Terraform would; records the plan arguments."""

    def __init__(self, stack_dir: Path, calls: list[tuple[str, dict[str, bool]]]) -> None:
        self.dir, self.calls = stack_dir, calls

    def init(self) -> None:
        return None

    def plan(self, plan_file: str, **kwargs: bool) -> bool:
        self.calls.append((plan_file, kwargs))
        (self.dir / plan_file).write_bytes(b"PK saved plan")
        return False

    def show_json(self, plan_file: str) -> str:
        assert (self.dir / plan_file).exists()
        return json.dumps(PLAN)

    def show_text(self, plan_file: str) -> str:
        return f"~ aws_sqs_queue.q ({plan_file})"


@pytest.fixture
def session(tmp_path, monkeypatch):
    out = tmp_path / "cdktf.out"
    monkeypatch.setenv("CDKTF_OUTDIR", str(out))
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    for key in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        monkeypatch.delenv(key, raising=False)
    meta = {"environment": "staging", "suffix": "staging", "stacks": {s: {"depends_on": []} for s in STACKS}}
    for stack in STACKS:
        (out / "stacks" / stack).mkdir(parents=True)
    (out / SYNTH_METADATA).write_text(json.dumps(meta))
    calls: list[tuple[str, dict[str, bool]]] = []
    monkeypatch.setattr(Session, "tf", lambda self, stack: FakeTerraform(self.stack_dir(stack), calls))
    sess = Session(
        target=resolve_target("staging", None), cloud=Cloud("aws", {}), options=SessionOptions(parallelism=2)
    )
    sess.calls = calls  # type: ignore[attr-defined]
    return sess


def test_speculative_plan_keeps_the_review_files_but_no_saved_plan(session, tmp_path, capsys):
    plan.plan(session)  # an earlier, real plan: its tfplan must not survive a speculative one
    summaries = plan.plan(session, speculative=True)
    assert [kw for _, kw in session.calls[-2:]] == [{"destroy": False, "lock": False}] * 2
    assert {s.change for s in summaries.values()} == {1}
    for stack in STACKS:
        folder = session.stack_dir(stack)
        assert json.loads((folder / "plan.json").read_text()) == PLAN
        assert "speculative.tfplan" in (folder / "plan.txt").read_text()
        assert not (folder / plan.PLAN_FILE).exists(), "no saved plan meant for apply"
        assert not (folder / plan.SPECULATIVE_PLAN_FILE).exists()
        assert json.loads((folder / plan.PLAN_SUMMARY).read_text()).keys() == {stack}
    out = tmp_path / "comment.md"
    assert cli.main(["comment", "-e", "staging", "--out", str(out), "--commit", "c" * 40]) == 0
    assert "aws_sqs_queue.q" in out.read_text(), "the comment still renders after a speculative plan"


def test_apply_refuses_a_speculative_plan(session):
    plan.plan(session, speculative=True)
    with pytest.raises(
        TapError, match=r"are speculative \(`scripts/tap plan --speculative`.*cannot be applied"
    ):
        apply.apply(session)


def test_a_real_plan_after_a_speculative_one_can_be_applied(session):
    plan.plan(session, speculative=True)
    plan.plan(session)
    assert [kw for _, kw in session.calls[-2:]] == [{"destroy": False, "lock": True}] * 2
    assert not (session.outdir / plan.SPECULATIVE_MARKER).exists()
    assert all((session.stack_dir(s) / plan.PLAN_FILE).exists() for s in STACKS)


def test_cli_plan_speculative_flag(monkeypatch):
    seen = {}

    class Ready:
        def select(self, stacks):
            seen.update(stacks=stacks)
            return self

    def ready(target, options):
        seen.update(env=target.env.name)
        return Ready()

    monkeypatch.setattr(stage_session, "ready_session", ready)
    monkeypatch.setattr(plan, "plan", lambda s, **kw: seen.update(kw) or {})
    args = build_parser().parse_args(["plan", "-e", "staging", "--speculative", "--stacks", "platform"])
    assert COMMANDS["plan"](args) == 0
    assert seen == {"env": "staging", "stacks": "platform", "destroy": False, "speculative": True}
    assert build_parser().parse_args(["plan", "-e", "staging"]).speculative is False


def test_each_stack_keeps_its_own_summary_and_a_later_plan_drops_the_older_ones(session):
    plan.plan(session)
    first, *others = STACKS
    for stack in STACKS:
        saved = json.loads((session.stack_dir(stack) / plan.PLAN_SUMMARY).read_text())
        assert saved.keys() == {stack}
        assert saved[stack]["change"] == 1
    plan.plan(session.select(first), speculative=True)
    assert (session.stack_dir(first) / plan.PLAN_SUMMARY).exists()
    assert not [s for s in others if (session.stack_dir(s) / plan.PLAN_SUMMARY).exists()], (
        "a summary of an earlier plan would show in the comment as if just planned"
    )
