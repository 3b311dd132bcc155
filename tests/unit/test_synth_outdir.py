"""``CDKTF_OUTDIR=build/cdktf.out scripts/tap synth`` on a fresh checkout (issue 11): jsii made
only the last directory, relative to its own working directory, and died with ENOENT."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from lib.config import resolve_target
from scripts.tapctl.core import paths
from scripts.tapctl.stages import session, synth


def test_outdir_is_absolute_even_when_the_variable_is_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDKTF_OUTDIR", "build/cdktf.out")
    assert paths.outdir() == tmp_path / "build" / "cdktf.out"
    assert paths.outdir().is_absolute()
    monkeypatch.delenv("CDKTF_OUTDIR")
    assert paths.outdir() == paths.ROOT / "cdktf.out"


def test_cli_synth_creates_the_parents_and_hands_an_absolute_outdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDKTF_OUTDIR", "build/deep/cdktf.out")
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    monkeypatch.setattr(synth.shutil, "which", lambda name: "/usr/bin/node")
    seen: dict[str, str] = {}

    def fake_run(cmd, *, env, **kwargs):
        out = Path(env["CDKTF_OUTDIR"])
        seen["outdir"] = env["CDKTF_OUTDIR"]
        seen["parent_exists"] = str(out.parent.is_dir())
        out.mkdir()  # what jsii does: the last component only
        meta = {"environment": "dev", "suffix": "dev", "stacks": {}}
        (out / session.SYNTH_METADATA).write_text(json.dumps(meta))
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(synth.subprocess, "run", fake_run)
    synth.synth(resolve_target("dev", None), "iot_pipeline")
    assert seen == {"outdir": str(tmp_path / "build" / "deep" / "cdktf.out"), "parent_exists": "True"}


def test_app_prepare_outdir_makes_an_absolute_existing_folder(tmp_path, monkeypatch):
    from lib.app import prepare_outdir

    monkeypatch.chdir(tmp_path)
    out = prepare_outdir("build/x/cdktf.out")
    assert out == tmp_path / "build" / "x" / "cdktf.out"
    assert out.is_dir()
    assert prepare_outdir(out) == out, "an existing folder is fine"
