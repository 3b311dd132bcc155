"""The benchmark's pure parts: figures, table, JSON, arguments, peer wiring (the chart: test_bench_chart.py).

Nothing here is timed: figures are computed from given seconds, and the
measuring functions run against fakes of the commands they call.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from scripts.tapctl.bench import change_aware, chart_tool, command, measure, parts
from scripts.tapctl.bench import peer as bench_peer
from scripts.tapctl.bench.command import BenchOptions
from scripts.tapctl.bench.report import Bar, Comparison, Target, document, median, ratio, render_table
from scripts.tapctl.cli.dispatch import COMMANDS
from scripts.tapctl.cli.parser import build_parser
from scripts.tapctl.core import emulator_process
from scripts.tapctl.core.cloud import Cloud
from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.stages import apply, destroy, images, integration, outputs, parallel, plan, state
from scripts.tapctl.stages import session as stage_session
from scripts.tapctl.stages import synth as stage_synth
from scripts.tapctl.stages.session import Session, SessionOptions

# -- figures -------------------------------------------------------------------------------


def test_median_of_odd_and_even_counts():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5


def test_median_refuses_no_repetitions_and_negative_durations():
    with pytest.raises(TapError, match="no repetitions measured"):
        median([])
    with pytest.raises(TapError, match="negative duration"):
        median([1.0, -0.5])


def test_ratio_is_a_ratio_of_medians():
    # medians: ours 10, reference 40 -> 4x faster, and 0.25 of the reference
    ours, reference = [9.0, 10.0, 30.0], [40.0, 1.0, 50.0]
    assert ratio(ours, reference, "speedup") == 4.0
    assert ratio(ours, reference, "at_most") == 0.25


def test_ratio_refuses_division_by_zero_and_unknown_kind():
    with pytest.raises(TapError, match="reference median is 0 s"):
        ratio([1.0], [0.0], "at_most")
    with pytest.raises(TapError, match="our median is 0 s"):
        ratio([0.0], [1.0], "speedup")
    with pytest.raises(TapError, match="ratio kind 'faster' is not one of at_most, speedup"):
        ratio([1.0], [1.0], "faster")


def test_target_validation_and_description():
    assert Target("at_most", 1.15).describe() == "<= 1.15x"
    assert Target("speedup", 3).describe() == ">= 3x faster"
    with pytest.raises(TapError, match="target kind 'less' is not one of"):
        Target("less", 1)
    with pytest.raises(TapError, match="target value 0 must be > 0"):
        Target("speedup", 0)


def test_comparison_pass_miss_and_not_measured():
    fast = Comparison("pr", "ours", "peer", Target("speedup", 3), [10.0], [31.0])
    slow = Comparison("pr", "ours", "peer", Target("speedup", 3), [10.0], [29.0])
    floor = Comparison("synth", "ours", "floor", Target("at_most", 1.15), [11.5], [10.0])
    missing = Comparison("cdktf", "ours", "cdktf synth", Target("speedup", 1.6), [10.0], [], "npm failed")
    assert (fast.passed(), slow.passed(), floor.passed(), missing.passed()) == (True, False, True, None)
    assert missing.figure() is None


def test_table_shows_medians_figure_target_result_and_notes():
    rows = [
        Comparison(
            "PR feedback", "synth+plan", "cdktf diff", Target("speedup", 3), [10.0, 12.0, 11.0], [44.0]
        ),
        Comparison("synth vs cdktf", "tap synth", "cdktf synth", Target("speedup", 1.6), [5.0], [], "no npm"),
    ]
    lines = render_table(rows).splitlines()
    assert lines[0].split() == [
        "comparison", "ours", "(median)", "reference", "ref", "(median)", "figure", "target", "result",
    ]  # fmt: skip
    assert lines[2].split() == [
        "PR",
        "feedback",
        "11.0s",
        "cdktf",
        "diff",
        "44.0s",
        "4.00x",
        ">=",
        "3x",
        "faster",
        "PASS",
    ]
    assert lines[3].rstrip().endswith("not measured")
    assert lines[4] == "note: synth vs cdktf: no npm"


def test_json_document_shape():
    rows = [Comparison("tests", "-n auto", "serial", Target("speedup", 1.6), [2.0, 4.0], [8.0, 8.0])]
    bars = [Bar("file_processing", "apply", 100.0, 5.0), Bar("platform", "plan", 101.5, 2.25)]
    doc = document(rows, bars, meta={"environment": "pr", "reps": 2})
    assert doc["version"] == 1
    assert (doc["environment"], doc["reps"]) == ("pr", 2)
    assert doc["rows"] == [
        {
            "name": "tests",
            "ours": {"label": "-n auto", "seconds": [2.0, 4.0], "median": 3.0},
            "reference": {"label": "serial", "seconds": [8.0, 8.0], "median": 8.0},
            "figure": 2.6667,
            "target": {"kind": "speedup", "value": 1.6},
            "passed": True,
            "unit": "s",
            "note": "",
        }
    ]
    assert doc["waterfall"] == [
        {"row": "file_processing", "stage": "apply", "start": 0.0, "seconds": 5.0},
        {"row": "platform", "stage": "plan", "start": 1.5, "seconds": 2.25},
    ]
    json.dumps(doc)  # serializable as written


# -- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--reps", "0"], "--reps 0 is out of range: use 1-50"),
        (["--reps", "three"], "--reps 'three' is not an integer"),
        (["--parts", "1,6"], "--parts '1,6': '6' is not a part"),
        (["--parts", "x"], "'x' is not a part; use a comma-separated subset of 1,2,3,4,5"),
        (["-j", "0"], "0 is out of range: use 1-64"),
        (["--peer-parallelism", "two"], "'two' is not an integer"),
    ],
)
def test_bad_arguments_are_refused_with_the_rule(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["bench", *argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_good_arguments_parse():
    args = build_parser().parse_args(
        ["bench", "--reps", "1", "--parts", "3,1,3", "--stacks", "file_processing"]
    )
    assert (args.reps, args.parts, args.stacks, args.peer_parallelism) == (1, (1, 3), "file_processing", 1)
    assert build_parser().parse_args(["bench"]).parts == (1, 2, 3, 4, 5)


def test_prepare_refuses_unknown_stacks_and_protected_environments(tmp_path, monkeypatch):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path))
    with pytest.raises(TapError, match="--stacks: stack\\(s\\) nope not in environment 'pr'"):
        command.prepare(BenchOptions(stacks="nope", no_install=True))
    with pytest.raises(TapError, match="environment 'prod' is protected: the benchmark deploys and destroys"):
        command.prepare(BenchOptions(env="prod", no_install=True))


def test_prepare_without_cdktf_cli_keeps_going_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path))
    run = command.prepare(BenchOptions(stacks="file_processing", no_install=True, reps=2))
    assert (run.stacks, run.reps, run.out) == (["file_processing"], 2, tmp_path / "bench")
    assert run.cli.binary is None
    assert "not installed (--no-install)" in run.cli.message
    assert run.peer({}) is None


# -- measuring helpers ------------------------------------------------------------------------


def test_recording_captures_every_stack_of_a_stage_and_stops_after(monkeypatch):
    bars: list[Bar] = []
    with measure.recording(bars):
        parallel.run_stacks("apply", ["a", "b"], {"b": ["a"]}, lambda s: s, parallelism=2)
    parallel.run_stacks("destroy", ["a"], {}, lambda s: s, parallelism=1)  # after the block: not recorded
    assert sorted((b.row, b.stage) for b in bars) == [("a", "apply"), ("b", "apply")]
    by_row = {b.row: b for b in bars}
    assert by_row["b"].start >= by_row["a"].start + by_row["a"].seconds  # b waited for a


def test_shifted_and_median_rep():
    bars = [Bar("x", "deploy", 500.0, 3.0), Bar("x", "destroy", 503.0, 1.0)]
    assert measure.shifted(bars, 10.0) == [Bar("x", "deploy", 10.0, 3.0), Bar("x", "destroy", 13.0, 1.0)]
    reps = [(9.0, ["slow"]), (1.0, ["fast"]), (5.0, ["mid"])]
    assert measure.median_rep(reps) == ["mid"]
    assert measure.median_rep(reps[:2]) == ["fast"]


def test_slowest_stack_and_its_dependencies():
    bars = [
        Bar("pipeline", "apply", 0, 500.0),  # the whole stage, not a stack
        Bar("images", "apply", 0, 20.0),
        Bar("app", "plan", 0, 10.0),
        Bar("app", "apply", 0, 30.0),
        Bar("app", "test", 0, 99.0),  # not a deploy stage
        Bar("file_processing", "apply", 0, 35.0),
    ]
    assert parts.slowest_stack(bars) == "app"
    deps = {"app": ["images"], "images": ["base"], "base": []}
    assert parts.with_dependencies("app", deps) == ["base", "images", "app"]
    with pytest.raises(TapError, match="no per-stack timings recorded"):
        parts.slowest_stack([Bar("pipeline", "synth", 0, 1.0)])


def test_stdout_to_stderr_moves_child_output(capfd):
    with measure.stdout_to_stderr():
        os.system("echo from-a-child")  # noqa: S605 - a fixed command
    out, err = capfd.readouterr()
    assert "from-a-child" in err
    assert "from-a-child" not in out


# -- the parts, against fakes -------------------------------------------------------------------


def _run(tmp_path: Path, reps: int = 3, binary: str | None = None) -> measure.Run:
    from lib.config import resolve_target

    cli_lookup = bench_peer.CliLookup(binary, "cdktf-cli 0.21.0" if binary else "npm failed")
    return measure.Run(resolve_target("pr", "pr0"), ["file_processing"], reps, 4, 1, tmp_path, cli_lookup)


def test_part_synth_measures_every_rep_and_skips_cdktf_without_the_cli(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(stage_synth, "synth", lambda target, only: calls.append(f"synth {only}"))
    monkeypatch.setattr(parts.subprocess, "run", lambda cmd, **kw: calls.append(cmd[-1]))
    run = _run(tmp_path)
    parts.part_synth(run)
    floor, synth = parts.IMPORT_FLOOR, "synth file_processing"
    assert calls == [floor, synth, synth, floor, floor, synth]  # each rep starts with another task
    floor, cdktf = run.rows
    assert (floor.name, floor.target, len(floor.ours), len(floor.reference)) == (
        "synth / import floor", Target("at_most", 1.15), 3, 3,
    )  # fmt: skip
    assert (cdktf.reference, cdktf.note, cdktf.passed()) == ([], "npm failed", None)


def test_pr_feedback_and_tests_without_cdktf_use_sequential_terraform(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(stage_synth, "synth", lambda target, only: calls.append("synth"))
    monkeypatch.setattr(plan, "plan", lambda s: calls.append(f"plan j{s.options.parallelism}"))
    monkeypatch.setattr(
        integration, "integration_tests", lambda s, workers: calls.append(f"pytest -n {workers}")
    )
    monkeypatch.setattr(parts.comment_inputs, "load_report", lambda *a, **kw: "report")
    monkeypatch.setattr(parts.comment, "render", lambda report: f"rendered {report}")
    monkeypatch.setattr(measure.Run, "session", lambda self, parallelism=None: Session(
        self.target, Cloud("emulator", {}), SessionOptions(parallelism=parallelism or self.parallelism)
    ))  # fmt: skip
    run = _run(tmp_path, reps=2)
    session = run.session()
    parts.part_pr_feedback(run, session)
    parts.part_tests(run, session)
    ours, theirs = ["synth", "plan j4"], ["synth", "plan j1"]
    assert calls == ours + theirs + theirs + ours + [
        "pytest -n auto",
        "pytest -n 0",
        "pytest -n 0",
        "pytest -n auto",
    ]
    assert (tmp_path / "comment.md").read_text() == "rendered report"
    pr, tests = run.rows
    assert pr.reference_label == "terraform plan per stack, sequential"
    assert "cdktf-cli unavailable (npm failed)" in pr.note
    assert (tests.name, tests.ours_label, tests.reference_label) == (
        "integration tests",
        "pytest -n auto",
        "pytest serial",
    )


def test_part_ephemeral_compares_with_the_peer_and_the_slowest_stack_alone(tmp_path, monkeypatch):
    cycles: list[str] = []

    def ours(run, stacks):
        cycles.append(f"ours {stacks}")
        return 10.0, [Bar("pipeline", "apply", 0.0, 8.0), Bar("file_processing", "apply", 1.0, 7.0)]

    full = {"stacks": {"file_processing": {}}}

    def peer(run, meta):
        # the synth taken once before the repetitions, not the cdktf.out a cycle left behind
        assert meta is full
        cycles.append("peer")
        return 30.0, [Bar("peer (cdktf)", "deploy", 50.0, 20.0)]

    monkeypatch.setattr(parts, "ours_cycle", ours)
    monkeypatch.setattr(parts, "peer_cycle", peer)
    monkeypatch.setattr(stage_synth, "synth", lambda target, only: full)
    monkeypatch.setattr(stage_session, "read_synth_metadata", lambda t: {"stacks": {}})
    run = _run(tmp_path, reps=2, binary="/bin/cdktf")
    bars = parts.part_ephemeral(run)
    assert cycles == [
        "ours file_processing",
        "peer",
        "ours file_processing",
        "peer",
        "ours file_processing",
        "ours file_processing",
    ]
    cycle, solo = run.rows
    assert (cycle.figure(), cycle.passed()) == (3.0, True)
    assert (solo.reference_label, solo.figure(), solo.passed()) == ("file_processing alone", 1.0, True)
    assert Bar("peer (cdktf)", "deploy", 0.0, 20.0) in bars  # the peer drawn on our time axis


def test_part_ephemeral_keeps_the_rows_of_finished_repetitions_when_a_later_one_fails(tmp_path, monkeypatch):
    calls = {"n": 0}

    def ours(run, stacks):
        calls["n"] += 1
        if calls["n"] > 2:  # rep 2's cycle
            raise StageFailed("apply failed")
        return 10.0, [Bar("file_processing", "apply", 1.0, 7.0)]

    monkeypatch.setattr(parts, "ours_cycle", ours)
    monkeypatch.setattr(parts, "peer_cycle", lambda run, meta: (30.0, []))
    monkeypatch.setattr(stage_synth, "synth", lambda target, only: {"stacks": {"file_processing": {}}})
    run = _run(tmp_path, reps=3, binary="/bin/cdktf")
    with pytest.raises(StageFailed):
        parts.part_ephemeral(run)
    cycle, solo = run.rows
    assert (cycle.ours, cycle.reference, solo.reference) == ([10.0], [30.0], [10.0])


def test_the_peer_deploy_refuses_metadata_without_every_measured_stack(tmp_path):
    run = _run(tmp_path, binary="/bin/cdktf")
    with pytest.raises(TapError, match="synth metadata lacks file_processing"):
        parts.peer_deploy(run, None, None, {"stacks": {}})  # type: ignore[arg-type]


# -- the peer ---------------------------------------------------------------------------------


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_ensure_cli_explicit_binary_and_version_check(tmp_path):
    warned = _script(tmp_path / "cdktf", 'echo "Warning: no CLI config"; echo "╵"; echo 0.21.0\n')
    found = bench_peer.ensure_cli(tmp_path / "none", str(warned))
    assert (found.binary, found.message) == (str(warned), f"cdktf-cli 0.21.0 at {warned}")
    bad = bench_peer.ensure_cli(tmp_path / "none", str(tmp_path / "missing"))
    assert bad.binary is None
    assert bad.message == f"--cdktf {tmp_path / 'missing'} is not an executable file"
    folder = tmp_path / "cli"
    (folder / "node_modules" / ".bin").mkdir(parents=True)
    _script(bench_peer.installed_binary(folder), "echo 0.20.0\n")
    old = bench_peer.ensure_cli(folder)
    assert old.binary is None
    assert "reports version '0.20.0', expected 0.21.0" in old.message


def test_install_reports_missing_npm_and_a_failed_install(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_peer.shutil, "which", lambda name: None)
    assert bench_peer.install(tmp_path) == "npm not found on PATH: cannot install cdktf-cli"
    npm = _script(tmp_path / "npm", 'echo "npm error 404 Not Found" >&2; exit 1\n')
    monkeypatch.setattr(bench_peer.shutil, "which", lambda name: str(npm))
    assert bench_peer.ensure_cli(tmp_path / "cli").message == (
        "npm install cdktf-cli@0.21.0 failed: npm error 404 Not Found"
    )


def test_peer_commands_pass_app_and_output_and_read_outputs(tmp_path):
    from lib.config import resolve_target

    argv_log = tmp_path / "argv"
    fake = _script(
        tmp_path / "cdktf",
        f'echo "$@ | $TAP_STACKS $ENVIRONMENT_SUFFIX" >> {argv_log}\n'
        'if [ "$1" = output ]; then echo \'{"file_processing": {"FileUploadBucketName": "b"}}\' > "$4"; fi\n'
        'if [ "$2" = broken ]; then echo "Error: boom"; exit 3; fi\n',
    )
    peer = bench_peer.CdktfPeer(
        str(fake), resolve_target("pr", "pr0"), env=dict(os.environ), outdir=tmp_path / "out",
        stacks=["file_processing"], log_dir=tmp_path,
    )  # fmt: skip
    peer.synth()
    peer.diff("file_processing")
    peer.deploy_all(1)
    assert peer.outputs_all(tmp_path / "o.json") == {"file_processing": {"FileUploadBucketName": "b"}}
    peer.destroy_all(2)
    lines = argv_log.read_text().splitlines()
    assert lines[1].startswith("diff file_processing --no-color --skip-provider-lock --app ")
    assert f"--output {tmp_path / 'out'} | file_processing pr0" in lines[1]
    assert lines[2].startswith("deploy * --auto-approve --no-color --skip-provider-lock --parallelism=1 ")
    assert lines[4].startswith("destroy * --auto-approve --no-color --skip-provider-lock --parallelism=2 ")
    with pytest.raises(StageFailed, match="cdktf diff failed \\(exit 3\\)") as err:
        peer.diff("broken")
    assert "Error: boom" in str(err.value)


def test_the_dispatch_runs_the_bench_with_its_typed_options(monkeypatch):
    seen: list[BenchOptions] = []
    monkeypatch.setattr(command, "main", lambda options: seen.append(options) or 0)
    args = build_parser().parse_args(["bench", "--no-install", "--parts", "2", "-j", "3"])
    assert COMMANDS["bench"](args) == 0
    assert seen == [BenchOptions(env="pr", reps=3, parts=(2,), parallelism=3, no_install=True)]


def _fake_commands(monkeypatch, calls: list[str]) -> None:
    stages = [
        (state, "bootstrap", "bootstrap"), (plan, "plan", "plan"), (apply, "apply", "apply"),
        (outputs, "collect", "collect_outputs"), (destroy, "destroy", "destroy"),
    ]  # fmt: skip
    for module, name, label in stages:
        monkeypatch.setattr(
            module, name, lambda s, label=label: calls.append(f"{label} j{s.options.parallelism}")
        )
    monkeypatch.setattr(stage_synth, "synth", lambda target, only: calls.append(f"synth {only}"))
    monkeypatch.setattr(
        integration, "integration_tests", lambda s, workers: calls.append(f"pytest -n {workers}")
    )
    monkeypatch.setattr(
        measure.Run, "session",
        lambda self, parallelism=None: Session(
            target=self.target, cloud=Cloud("emulator", {}),
            options=SessionOptions(parallelism=parallelism or self.parallelism),
        ),
    )  # fmt: skip


def test_peer_cycle_without_cdktf_is_every_stage_one_stack_at_a_time(tmp_path, monkeypatch):
    calls: list[str] = []
    _fake_commands(monkeypatch, calls)
    seconds, bars = parts.peer_cycle(_run(tmp_path))
    assert calls == [
        "bootstrap j1", "synth file_processing", "plan j1", "apply j1", "collect_outputs j1",
        "pytest -n 0", "destroy j1",
    ]  # fmt: skip
    assert [(b.row, b.stage) for b in bars] == [
        ("peer (sequential terraform)", s) for s in ("synth", "plan", "apply", "outputs", "test", "destroy")
    ]
    assert seconds >= sum(b.seconds for b in bars)


def test_peer_cycle_with_cdktf_deploys_outputs_tests_destroys(tmp_path, monkeypatch):
    calls: list[str] = []
    _fake_commands(monkeypatch, calls)
    monkeypatch.setenv("TAP_OUTPUTS_DIR", str(tmp_path / "outputs"))

    class FakePeer:
        def __init__(self, binary, target, **kw):
            calls.append(f"peer {binary} stacks={kw['stacks']}")

        def deploy_all(self, parallelism):
            calls.append(f"cdktf deploy --parallelism={parallelism}")

        def outputs_all(self, path):
            calls.append("cdktf output")
            return {"file_processing": {"FileUploadBucketName": "b"}}

        def destroy_all(self, parallelism):
            calls.append(f"cdktf destroy --parallelism={parallelism}")

    monkeypatch.setattr(measure, "CdktfPeer", FakePeer)
    monkeypatch.setattr(stage_session, "read_synth_metadata", lambda t: {"stacks": {"file_processing": {}}})
    _, bars = parts.peer_cycle(_run(tmp_path, binary="/x/cdktf"))
    assert calls == [
        "peer /x/cdktf stacks=['file_processing']", "bootstrap j1",
        "cdktf deploy --parallelism=1", "cdktf output",
        "pytest -n 0", "cdktf destroy --parallelism=1",
    ]  # fmt: skip
    assert json.loads((tmp_path / "outputs" / "flat-outputs.json").read_text()) == {
        "FileUploadBucketName": "b"
    }
    assert [b.stage for b in bars] == ["deploy", "output", "test", "destroy"]


def test_peer_pushes_images_between_the_repositories_and_the_functions(tmp_path, monkeypatch):
    """cdktf deploy '*' cannot create image functions before their images exist."""
    calls: list[str] = []
    _fake_commands(monkeypatch, calls)
    monkeypatch.setenv("TAP_OUTPUTS_DIR", str(tmp_path / "outputs"))

    class FakePeer:
        def __init__(self, binary, target, **kw):
            pass

        def deploy_all(self, parallelism):
            calls.append("cdktf deploy '*'")

        def deploy(self, stacks, parallelism, *, name="deploy"):
            calls.append(f"cdktf {name} {' '.join(stacks)}")

        def outputs_all(self, path):
            return {}

        def destroy_all(self, parallelism):
            calls.append("cdktf destroy '*'")

    image = {
        "repository": "r", "account_id": "111111111111", "region": "us-east-1", "context": "lib/lambda/x",
        "tag": "t", "platform": "linux/arm64", "command": ["handler.main"], "uri": "111111111111.dkr.ecr/r:t",
    }  # fmt: skip
    meta = {"stacks": {"transaction_images": {}, "transaction_pipeline": {"images": [image]}, "platform": {}}}
    monkeypatch.setattr(measure, "CdktfPeer", FakePeer)
    monkeypatch.setattr(stage_session, "read_synth_metadata", lambda t: meta)
    monkeypatch.setattr(
        images, "publish", lambda cloud, m, stack, log_name: calls.append(f"publish {stack}") or []
    )
    run = _run(tmp_path, binary="/x/cdktf")
    run.stacks = ["platform", "transaction_images", "transaction_pipeline"]
    parts.peer_cycle(run)
    assert calls[:4] == [
        "bootstrap j1",
        "cdktf deploy platform transaction_images",
        "publish transaction_pipeline",
        "cdktf deploy.images transaction_pipeline",
    ]
    assert "cdktf deploy '*'" not in calls


def test_pr_feedback_bars_show_synth_plan_and_comment(tmp_path, monkeypatch):
    calls: list[str] = []
    _fake_commands(monkeypatch, calls)
    monkeypatch.setattr(parts.comment_inputs, "load_report", lambda *a, **kw: "report")
    monkeypatch.setattr(parts.comment, "render", lambda report: "text")
    run = _run(tmp_path, reps=1)
    bars = parts.part_pr_feedback(run, run.session())
    peer = "peer (sequential terraform)"
    assert [(b.row, b.stage) for b in bars] == [
        ("pipeline", "synth"), ("pipeline", "plan"), ("pipeline", "comment"), (peer, "synth"), (peer, "plan"),
    ]  # fmt: skip
    assert bars[0].start <= bars[1].start <= bars[2].start
    assert bars[3].start == bars[0].start  # the peer drawn from the same instant


def _fake_parts(monkeypatch, calls: list[str], *, fail_tests: bool = False) -> None:
    import contextlib

    monkeypatch.setattr(command, "find_binary", lambda: "/bin/terraform")
    monkeypatch.setattr(command, "check_version", lambda binary: (1, 11, 4))
    monkeypatch.setattr(emulator_process, "owned", lambda: contextlib.nullcontext(calls.append("emulator")))
    monkeypatch.setattr(destroy, "destroy", lambda session: calls.append("destroy baseline"))
    monkeypatch.setattr(parts, "deploy_baseline", lambda run: calls.append("baseline") or "session")

    def synth(run):
        calls.append("part 1")
        run.rows.append(
            Comparison("synth / import floor", "ours", "floor", Target("at_most", 1.15), [1.0], [1.0])
        )

    def tests(run, session):
        calls.append("part 4")
        if fail_tests:
            raise StageFailed("integration tests failed")

    monkeypatch.setattr(parts, "part_synth", synth)
    monkeypatch.setattr(
        parts, "part_pr_feedback", lambda run, s: calls.append("part 2") or [Bar("a", "plan", 0, 1)]
    )
    monkeypatch.setattr(parts, "part_tests", tests)
    monkeypatch.setattr(change_aware, "part_change_aware", lambda run, peer: calls.append("part 5"))
    monkeypatch.setattr(
        parts, "part_ephemeral", lambda run: calls.append("part 3") or [Bar("a", "apply", 0, 2)]
    )


def test_execute_runs_the_parts_around_one_baseline_and_always_destroys_it(tmp_path, monkeypatch):
    calls: list[str] = []
    _fake_parts(monkeypatch, calls)
    run = _run(tmp_path)
    command.execute(run, (1, 2, 3, 4))
    assert run.bars == [Bar("a", "apply", 0, 2)]  # part 3 draws the waterfall
    assert calls == ["part 1", "emulator", "baseline", "part 2", "part 4", "destroy baseline", "part 3"]
    assert run.terraform == "/bin/terraform"
    calls.clear()
    run = _run(tmp_path)
    command.execute(run, (1,))
    assert run.bars == []
    assert calls == ["part 1"]  # no emulator for synth alone
    calls.clear()
    _fake_parts(monkeypatch, calls, fail_tests=True)
    with pytest.raises(StageFailed, match="integration tests failed"):
        command.execute(run, (4,))
    assert calls == ["emulator", "baseline", "part 4", "destroy baseline"]


def test_main_prints_the_table_and_writes_json_and_the_chart(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path))
    calls: list[str] = []
    _fake_parts(monkeypatch, calls)
    drawn: list[tuple] = []

    def render(source, png, *, install):
        drawn.append((json.loads(source.read_text())["waterfall"], png, install))
        return png

    monkeypatch.setattr(chart_tool, "render", render)
    monkeypatch.setattr(command, "ensure_cli", lambda *a, **kw: bench_peer.CliLookup(None, "no npm here"))
    assert command.main(BenchOptions(stacks="file_processing", parts=(1, 2))) == 0
    out = capsys.readouterr().out
    assert "synth / import floor" in out
    assert "PASS" in out
    doc = json.loads((tmp_path / "bench" / "bench.json").read_text())
    assert (doc["stacks"], doc["parts"], doc["reps"]) == (["file_processing"], [1, 2], 3)
    assert doc["rows"][0]["passed"] is True
    assert doc["waterfall"] == [{"row": "a", "stage": "plan", "start": 0.0, "seconds": 1.0}]
    png = tmp_path / "bench" / "waterfall.png"
    assert drawn == [(doc["waterfall"], png, True)], "the chart is drawn from the JSON just written"
    assert out.rstrip().endswith(f"chart: {png}")


def test_main_without_the_chart_venv_still_prints_the_table_and_says_why(tmp_path, monkeypatch, capsys):
    """--no-install and no chart venv: the table, the JSON, and one line on the missing chart."""
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path))
    monkeypatch.setenv("TAP_TOOLS_DIR", str(tmp_path / "no-tools"))
    _fake_parts(monkeypatch, [])
    assert command.main(BenchOptions(stacks="file_processing", no_install=True, parts=(1, 2))) == 0
    out = capsys.readouterr().out
    assert "synth / import floor" in out
    last = out.rstrip().splitlines()[-1]
    assert last.startswith(
        f"chart not drawn (--no-install, and no chart venv in {tmp_path / 'no-tools' / 'chart'}); "
    )
    assert last.endswith(
        f"draw it later: scripts/tap bench-chart {tmp_path / 'bench' / 'bench.json'} "
        f"{tmp_path / 'bench' / 'waterfall.png'}"
    )
    assert not (tmp_path / "no-tools").exists(), "nothing installed"
    assert not (tmp_path / "bench" / "waterfall.png").exists()


def test_main_when_installing_the_chart_venv_fails_still_finishes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path))
    _fake_parts(monkeypatch, [])

    def no_pypi(*a, **kw):
        raise TapError("installing chart failed: ERROR: Could not find a version that satisfies numpy")

    monkeypatch.setattr(chart_tool.tool_venv, "ensure", no_pypi)
    monkeypatch.setattr(command, "ensure_cli", lambda *a, **kw: bench_peer.CliLookup(None, "no npm here"))
    assert command.main(BenchOptions(stacks="file_processing", parts=(1, 2))) == 0
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert last.startswith("chart not drawn (installing chart failed: ERROR: Could not find a version")


def test_main_without_a_waterfall_says_there_is_no_chart(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path))
    _fake_parts(monkeypatch, [])
    assert command.main(BenchOptions(stacks="file_processing", no_install=True, parts=(1,))) == 0
    assert (
        capsys.readouterr()
        .out.rstrip()
        .endswith("chart not drawn (no waterfall: parts 2 and 3 were not run)")
    )


def test_main_keeps_what_was_measured_when_a_later_part_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path))
    monkeypatch.setenv("TAP_TOOLS_DIR", str(tmp_path / "tools"))  # no chart venv: not drawn
    calls: list[str] = []
    _fake_parts(monkeypatch, calls)

    def ephemeral(run):
        raise StageFailed("cdktf deploy failed (exit 1)\nlog tail")

    monkeypatch.setattr(parts, "part_ephemeral", ephemeral)
    with pytest.raises(StageFailed, match="cdktf deploy failed"):
        command.main(BenchOptions(stacks="file_processing", no_install=True))
    captured = capsys.readouterr()
    assert "synth / import floor" in captured.out, "part 1's row is still printed"
    assert "stopped early" in captured.err
    doc = json.loads((tmp_path / "bench" / "bench.json").read_text())
    assert doc["stopped_early"] == "cdktf deploy failed (exit 1)"
    assert [r["name"] for r in doc["rows"]] == ["synth / import floor"]
    assert doc["waterfall"] == [{"row": "a", "stage": "plan", "start": 0.0, "seconds": 1.0}], "part 2's"
    assert calls == ["part 1", "emulator", "baseline", "part 2", "part 5", "part 4", "destroy baseline"]


def test_in_turn_rotates_the_first_task_each_repetition():
    order: list[str] = []
    for rep in range(4):
        measure.in_turn(rep, lambda: order.append("a"), lambda: order.append("b"), lambda: order.append("c"))
    assert "".join(order) == "abc" + "bca" + "cab" + "abc"
