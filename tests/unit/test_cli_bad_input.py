"""CLI preconditions (Terraform, emulator port, synth output) refused before any
Terraform or cloud call (scripts/tapctl/cli/, scripts/tapctl/stages/). The table of bad input the
issue lists (suffixes, environments, environment files, destroy, arguments,
outputs file) is tests/unit/test_bad_input.py."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest

from scripts.tapctl import cli


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Own work dirs, and a fake terraform that records any call."""
    for var, sub in (("TAP_WORKDIR", "tap"), ("CDKTF_OUTDIR", "out"), ("TAP_OUTPUTS_DIR", "cfn")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv("TAP_CLOUD", raising=False)
    calls = tmp_path / "terraform-calls"
    fake = tmp_path / "terraform"
    # `terraform version` (the preflight check) is allowed; anything else is recorded.
    fake.write_text(f'#!/bin/sh\n[ "$1" = version ] || echo "$@" >> {calls}\necho "Terraform v1.11.4"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("TERRAFORM_BINARY", str(fake))
    return calls


def run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def assert_nothing_ran(calls: Path, tmp_path: Path) -> None:
    assert not calls.exists(), "terraform was called"
    assert not (tmp_path / "tap" / "emulator.json").exists(), "an emulator was started"


def test_missing_terraform(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TERRAFORM_BINARY", str(tmp_path / "nope" / "terraform"))
    code, err = run(capsys, "pipeline", "-e", "pr", "-s", "pr1")
    assert code == 2
    assert err.startswith("error: terraform not found on PATH")
    assert not (tmp_path / "tap" / "emulator.json").exists()


def test_old_terraform(capsys, monkeypatch, tmp_path):
    old = tmp_path / "old-terraform"
    old.write_text('#!/bin/sh\necho "Terraform v1.9.8"\n')
    old.chmod(0o755)
    monkeypatch.setenv("TERRAFORM_BINARY", str(old))
    code, err = run(capsys, "pipeline", "-e", "pr", "-s", "pr1")
    assert code == 2
    assert "Terraform 1.9.8" in err
    assert "too old: this project needs >= 1.10" in err


def test_emulator_port_in_use(capsys, isolated, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code, err = run(capsys, "emulator", "start", "--port", str(port))
        assert code == 2
        assert f"port {port} on 127.0.0.1 is already in use" in err
        code, err = run(capsys, "pipeline", "-e", "pr", "-s", "pr1", "--port", str(port))
        assert code == 2
        assert f"port {port} on 127.0.0.1 is already in use" in err
    assert_nothing_ran(isolated, tmp_path)


def test_commands_need_a_synth_first(capsys, isolated, tmp_path):
    code, err = run(capsys, "plan", "-e", "pr", "-s", "pr1")
    assert code == 2
    assert "holds no synth output: run `scripts/tap synth` first" in err


@pytest.mark.parametrize(
    ("synthesized_for", "command", "message"),
    [
        (("dev", "dev"), "apply", "was synthesized for dev/dev, not pr/pr1"),
        (("pr", "pr1"), "plan", "the embedded AWS is not running"),
    ],
)
def test_a_synth_output_is_checked_before_any_cloud_call(
    capsys, isolated, tmp_path, synthesized_for, command, message
):
    """Another environment's synth is refused; the right one still needs the embedded AWS."""
    out = tmp_path / "out"
    out.mkdir()
    env, suffix = synthesized_for
    (out / "tap-synth.json").write_text(json.dumps({"environment": env, "suffix": suffix, "stacks": {}}))
    code, err = run(capsys, command, "-e", "pr", "-s", "pr1")
    assert code == 2
    assert message in err


def test_emulator_status_when_stopped(capsys):
    assert cli.main(["emulator", "status"]) == 3
    assert capsys.readouterr().out.strip() == "not running"
    assert cli.main(["emulator", "stop"]) == 0
    assert "was not running" in capsys.readouterr().out


def test_help_documents_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in (
        "synth",
        "plan",
        "apply",
        "outputs",
        "test",
        "destroy",
        "bootstrap",
        "emulator",
        "pipeline",
    ):
        assert command in out
    assert os.environ.get("TAP_CLOUD") is None
