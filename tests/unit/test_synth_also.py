"""``scripts/tap synth --also ENV[/SUFFIX]=DIR``: more targets in the same child process (the PR
workflow's base and ephemeral environments), each exactly what a synth of its own gives."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scripts.tapctl import cli
from scripts.tapctl.stages import synth as synth_stage

STACK = "file_processing"  # a system stack with assets (Lambda packages, a layer)


def stacks_in(out: Path) -> dict[str, dict]:
    return {d.name: json.loads((d / "cdk.tf.json").read_text()) for d in sorted((out / "stacks").iterdir())}


def test_also_synthesizes_both_targets_in_one_process_as_separate_synths_would(
    tmp_path, monkeypatch, capsys, synth
):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "base"))
    runs = []
    real_run = synth_stage.subprocess.run
    monkeypatch.setattr(synth_stage.subprocess, "run", lambda *a, **k: runs.append(a[0]) or real_run(*a, **k))
    code = cli.main(["synth", "-e", "dev", "--stacks", STACK, "--also", f"pr/pr7={tmp_path / 'pr'}"])
    assert code == 0
    assert len(runs) == 1, "one child process for both targets"
    out = capsys.readouterr().out
    assert f"synthesized {STACK} for dev/dev into {tmp_path / 'base'}" in out
    assert f"synthesized {STACK} for pr/pr7 into {tmp_path / 'pr'}" in out
    for env, suffix, folder in (("dev", "dev", "base"), ("pr", "pr7", "pr")):
        meta = json.loads((tmp_path / folder / "tap-synth.json").read_text())
        assert (meta["environment"], meta["suffix"], list(meta["stacks"])) == (env, suffix, [STACK])
        assert stacks_in(tmp_path / folder) == {STACK: synth(env)[STACK]}, f"{env}/{suffix}"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("pr/pr7", r"'pr/pr7' is not ENV\[/SUFFIX\]=DIR"),
        ("qa=out", r"unknown environment 'qa'"),
        ("pr/dev=out", r"invalid environment suffix 'dev' for 'pr'"),
        ("prod/pr7=out", r"invalid environment suffix 'pr7' for 'prod'"),
    ],
)
def test_a_bad_also_is_refused_while_parsing_naming_it(spec, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    monkeypatch.setattr(synth_stage.subprocess, "run", lambda *a, **k: pytest.fail("refused before synth"))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["synth", "-e", "dev", "--also", spec])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --also:" in err
    assert re.search(message, err), err


def test_two_targets_into_one_directory_are_refused_before_the_app_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "out"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "kept").write_text("an earlier synth")
    monkeypatch.setattr(synth_stage.subprocess, "run", lambda *a, **k: pytest.fail("refused before synth"))
    assert cli.main(["synth", "-e", "dev", "--also", f"pr/pr7={tmp_path / 'out'}"]) == 2
    err = capsys.readouterr().err
    assert f"each target needs its own directory; {tmp_path / 'out'} is given twice" in err
    assert (tmp_path / "out" / "kept").exists(), "nothing emptied before the refusal"
