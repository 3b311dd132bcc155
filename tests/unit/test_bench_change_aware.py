"""Bench part 5 (change-aware PR feedback): the checkouts, the Terraform counter, the
critical path over the real PR workflow's ``needs:``, and the rows. Nothing is timed:
the measuring steps are replaced by fakes returning given seconds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lib.config import resolve_target
from scripts.tapctl.bench import change_aware, command
from scripts.tapctl.bench.command import BenchOptions
from scripts.tapctl.bench.measure import Run
from scripts.tapctl.bench.peer import CliLookup
from scripts.tapctl.bench.report import Comparison, Target, render_table
from scripts.tapctl.core import paths
from scripts.tapctl.core.errors import TapError

STACKS = ["data_pipeline", "file_processing", "platform"]


def test_the_pr_workflow_plans_after_lint_unit_synth_and_promotion():
    needs = change_aware.workflow_needs(paths.ROOT / change_aware.WORKFLOW)
    assert set(needs["changes"]) == {"context", "promotion", "lint", "unit", "synth"}
    assert set(needs["plan"]) == {"context", "changes"}
    assert set(needs[change_aware.FEEDBACK_JOB]) == {"context", "changes", "plan"}
    assert needs["context"] == []


def test_workflow_needs_refuses_a_file_without_jobs(tmp_path):
    bad = tmp_path / "w.yml"
    bad.write_text("on: push\n")
    with pytest.raises(TapError, match="cannot read its jobs"):
        change_aware.workflow_needs(bad)


def test_critical_path_is_the_longest_chain_of_needs():
    needs = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    total, chain = change_aware.critical_path(needs, {"a": 1, "b": 5, "c": 2, "d": 3}, "d")
    assert (total, chain) == (9, ["a", "b", "d"])
    total, chain = change_aware.critical_path(needs, {"a": 1, "b": 1, "c": 7, "d": 3}, "d")
    assert (total, chain) == (11, ["a", "c", "d"])


def test_critical_path_refuses_untimed_jobs_unknown_jobs_and_cycles():
    with pytest.raises(TapError, match="'b' is on the path to 'c' but was not timed"):
        change_aware.critical_path({"a": [], "b": ["a"], "c": ["b"]}, {"a": 1, "c": 1}, "c")
    with pytest.raises(TapError, match="'x' is not in the workflow"):
        change_aware.critical_path({"a": ["x"]}, {"a": 1}, "a")
    with pytest.raises(TapError, match="a cycle"):
        change_aware.critical_path({"a": ["b"], "b": ["a"]}, {"a": 1, "b": 1}, "a")


def test_critical_path_of_the_real_workflow_goes_through_the_slowest_needed_job():
    needs = change_aware.workflow_needs(paths.ROOT / change_aware.WORKFLOW)
    seconds = {"context": 2, "promotion": 1, "lint": 100, "unit": 250, "synth": 45}
    seconds |= {"changes": 3, "plan": 30, "plan-summary": 4}
    total, chain = change_aware.critical_path(needs, seconds, change_aware.FEEDBACK_JOB)
    assert chain == ["context", "unit", "changes", "plan", "plan-summary"]
    assert total == 289


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "lib" / "lambda" / "file_processing" / "api").mkdir(parents=True)
    (src / change_aware.HANDLER).write_text("def handler(event, context):\n    return 1\n")
    (src / "README.md").write_text("# readme\n")
    for skipped in (".git", ".tap", ".venv", "cdktf.out", "build", "lib/__pycache__"):
        (src / skipped).mkdir(parents=True, exist_ok=True)
        (src / skipped / "f").write_text("x")
    return src


def test_a_checkout_copies_the_tree_without_local_state_and_makes_one_edit(tmp_path):
    src = _source(tmp_path)
    handler = "def handler(event, context):\n    return 1\n"
    edits = {
        "one-stack": (change_aware.HANDLER, change_aware.HANDLER_EDIT),
        "docs-only": (change_aware.DOCS, ""),
    }
    for name, (edit, text) in edits.items():  # the second checkout replaces the first
        tree = change_aware.checkout(src, tmp_path / "pr", name, edit=edit, text=text, terraform="/bin/echo")
    assert (tree.root / change_aware.HANDLER).read_text() == handler, "the first checkout's edit is gone"
    tree = change_aware.checkout(
        src,
        tmp_path / "pr",
        "one-stack",
        edit=change_aware.HANDLER,
        text=change_aware.HANDLER_EDIT,
        terraform="/x",
    )
    assert (tree.root / change_aware.HANDLER).read_text() == handler + change_aware.HANDLER_EDIT
    assert (src / change_aware.HANDLER).read_text() == handler, "the source is not edited"
    assert (tree.root / "README.md").read_text() == "# readme\n"
    for skipped in (".git", ".tap", ".venv", "cdktf.out", "build", "lib/__pycache__"):
        assert not (tree.root / skipped).exists(), skipped


def test_a_checkout_refuses_a_missing_file_to_edit(tmp_path):
    src = _source(tmp_path)
    with pytest.raises(TapError, match=r"nope\.py is not a file"):
        change_aware.checkout(
            src, tmp_path / "pr", "x", edit=Path("nope.py"), text="#", terraform="/bin/echo"
        )


def test_the_terraform_wrapper_counts_each_run_and_its_stack_directory(tmp_path):
    tree = change_aware.checkout(
        _source(tmp_path),
        tmp_path / "pr",
        "one-stack",
        edit=change_aware.HANDLER,
        text="#",
        terraform="/bin/echo",
    )
    assert tree.terraform_runs() == 0
    assert tree.terraform_stacks() == []
    runs = (("file_processing", "init"), ("file_processing", "plan"), ("platform", "show"), ("pr", "version"))
    for stack, verb in runs:
        cwd = tmp_path / "stacks" / stack
        cwd.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            [str(tree.root / ".bench-terraform"), verb, "-x"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout == f"{verb} -x\n"  # the real binary ran with the same arguments
    assert tree.terraform_runs() == 3, "a version check is not a run"
    assert tree.terraform_stacks() == ["file_processing", "platform"]


def test_none_target_passes_only_when_every_repetition_counts_zero():
    row = Comparison("(b)", "ours", "peer", Target("none", 1), [0.0, 0.0], [6.0, 6.0], unit="runs")
    assert row.passed() is True
    assert row.figure() == 0
    assert (
        Comparison("(b)", "o", "p", Target("none", 1), [0.0, 1.0, 0.0], [6.0], unit="runs").passed() is False
    )
    table = render_table([row])
    for shown in ("0 runs", "6 runs", "0 in every rep", "PASS"):
        assert shown in table


def test_part_5_needs_part_2_in_the_same_run(tmp_path, monkeypatch):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path))
    with pytest.raises(TapError, match="part 5 needs part 2"):
        command.prepare(BenchOptions(parts=(5,), no_install=True))


def _run(tmp_path: Path) -> Run:
    return Run(
        resolve_target("pr", None),
        list(STACKS),
        2,
        2,
        1,
        tmp_path,
        CliLookup(None, "absent"),
        "/bin/terraform",
    )


def _fake_measuring(monkeypatch, changed_by_one_stack: list[str]):
    def jobs(plans: list[float], stacks: list[str]) -> change_aware.PlanJobs:
        seconds = {"changes": 2.0, "plan": max(plans, default=0.0), "plan-summary": 1.0}
        return change_aware.PlanJobs(20.0, seconds, plans, stacks)

    def plan_job(run, tree, bars, *, force_all=False):
        if force_all:  # `changed` lists by dependency level, not in the run's order
            return jobs([30.0, 50.0, 40.0], list(reversed(run.stacks)))
        if tree.name == "one-stack":
            tree.runs_log.write_text("file_processing init\nfile_processing plan\nfile_processing show\n")
            return jobs([12.0], changed_by_one_stack)
        tree.runs_log.unlink(missing_ok=True)
        return jobs([], [])

    monkeypatch.setattr(change_aware, "plan_job", plan_job)
    seconds = {"context": 2.0, "promotion": 1.0, "lint": 100.0, "unit": 250.0, "synth": 45.0}
    monkeypatch.setattr(change_aware, "time_jobs", lambda run: change_aware.Jobs(seconds, 350.0))
    monkeypatch.setattr(change_aware, "checkout", lambda src, dest, name, **kw: _tree(dest, name))


def _tree(dest: Path, name: str) -> change_aware.Checkout:
    dest.mkdir(parents=True, exist_ok=True)
    return change_aware.Checkout(name, dest, dest / "runs.log")


def test_part_5_rows_one_stack_docs_only_and_the_critical_paths(tmp_path, monkeypatch):
    _fake_measuring(monkeypatch, ["file_processing"])
    run = _run(tmp_path)
    change_aware.part_change_aware(run, [200.0, 190.0])
    rows = {r.name: r for r in run.rows}
    one = rows["(a) PR feedback, one stack"]
    assert (one.ours, one.reference) == ([35.0, 35.0], [200.0, 190.0])  # synth, changed, plan, comment
    assert round(one.figure(), 2) == round(195 / 35, 2)
    assert one.passed() is True
    assert "Terraform ran 3 times, all in file_processing" in one.note
    runs = rows["(b) docs-only PR"]
    assert (runs.ours, runs.reference, runs.passed()) == ([0.0, 0.0], [3.0, 3.0], True)
    assert rows["(b) docs-only PR feedback"].ours == [23.0, 23.0]
    path_one = rows["(c) PR critical path, one stack"]
    assert path_one.ours == [2 + 250 + 2 + 12.0 + 1] * 2  # context -> unit -> changes -> plan -> summary
    assert path_one.reference == [550.0, 540.0]  # lint + unit + the diffs, one job
    assert "path context -> unit -> changes -> plan -> plan-summary" in path_one.note
    # a runner per stack: the plan matrix lasts as long as its slowest stack
    assert rows["(c) PR critical path, all stacks"].ours == [2 + 250 + 2 + 50.0 + 1] * 2


def test_part_5_fails_when_a_handler_edit_changes_another_stack(tmp_path, monkeypatch):
    _fake_measuring(monkeypatch, ["data_pipeline", "file_processing"])
    with pytest.raises(
        TapError, match=r"changed \['data_pipeline', 'file_processing'\].*expected file_processing alone"
    ):
        change_aware.part_change_aware(_run(tmp_path), [200.0])


def test_part_5_without_part_2_peer_times_is_refused(tmp_path):
    with pytest.raises(TapError, match="needs part 2"):
        change_aware.part_change_aware(_run(tmp_path), [])
