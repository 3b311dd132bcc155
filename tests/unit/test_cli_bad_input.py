"""Bad input is rejected with one line naming the input and the rule, before any
Terraform or cloud call (scripts/tapctl/cli.py)."""

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


@pytest.mark.parametrize(
    ("suffix", "reason"),
    [
        ("PR1", "uppercase letter 'P'"),
        ("pr 1", "whitespace"),
        ("pr1;rm -rf /", "too long"),
        ("pr1|x", "character '|'"),
        ("prÿ", "non-ASCII"),
        ("pr123456789", "too long"),
        ("", "it is empty"),
    ],
)
@pytest.mark.parametrize("command", ["synth", "plan", "apply", "destroy", "pipeline"])
def test_invalid_suffix(capsys, isolated, tmp_path, command, suffix, reason):
    code, err = run(capsys, command, "-e", "pr", "-s", suffix)
    assert code == 2
    assert err.startswith("error: invalid environment suffix")
    assert reason in err
    assert len(err.splitlines()) == 1
    assert_nothing_ran(isolated, tmp_path)


@pytest.mark.parametrize("command", ["synth", "plan", "outputs", "pipeline", "destroy"])
def test_unknown_environment_lists_known(capsys, isolated, tmp_path, command):
    code, err = run(capsys, command, "-e", "qa")
    assert code == 2
    assert err == "error: unknown environment 'qa'; known environments: dev, pr, prod, staging"
    assert_nothing_ran(isolated, tmp_path)


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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "-j", "0"], "argument -j/--parallelism: 0 is out of range: use 1-64"),
        (["plan", "-j", "many"], "argument -j/--parallelism: 'many' is not an integer"),
        (["emulator", "start", "--port", "80"], "80 is out of range: use 1024-65535"),
        (["emulator", "start", "--port", "http"], "'http' is not a port number"),
        (["plan", "--cloud", "gcp"], "invalid choice: 'gcp'"),
    ],
)
def test_out_of_range_arguments(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_destroy_refuses_protected_environments(capsys, isolated, tmp_path, env):
    code, err = run(capsys, "destroy", "-e", env, "--confirm", env)
    assert code == 2
    assert f"environment {env!r} is protected" in err
    assert f"environments/{env}.yaml" in err
    assert_nothing_ran(isolated, tmp_path)


def test_destroy_confirmation_must_match(capsys, isolated, tmp_path):
    code, err = run(capsys, "destroy", "-e", "pr", "-s", "pr4", "--confirm", "pr5")
    assert code == 2
    assert "--confirm 'pr5' does not match the suffix 'pr4'" in err
    assert_nothing_ran(isolated, tmp_path)


def test_destroy_on_aws_needs_confirmation(capsys, isolated, tmp_path):
    code, err = run(capsys, "destroy", "-e", "pr", "-s", "pr4", "--cloud", "aws")
    assert code == 2
    assert "destroying on real AWS needs --confirm pr4" in err
    assert_nothing_ran(isolated, tmp_path)


def test_pipeline_keep_is_for_real_aws_only(capsys, isolated, tmp_path):
    code, err = run(capsys, "pipeline", "--keep")
    assert code == 2
    assert "--keep only applies to --cloud aws" in err
    code, err = run(capsys, "pipeline", "-e", "prod", "--cloud", "aws")
    assert code == 2
    assert "environment 'prod' is protected" in err
    assert_nothing_ran(isolated, tmp_path)


def test_unknown_stack_subset(capsys, isolated, tmp_path):
    code, err = run(capsys, "synth", "-e", "pr", "--stacks", "nope")
    assert code == 2
    assert "--stacks: stack(s) nope not in environment 'pr'" in err
    assert_nothing_ran(isolated, tmp_path)


def test_commands_need_a_synth_first(capsys, isolated, tmp_path):
    code, err = run(capsys, "plan", "-e", "pr", "-s", "pr1")
    assert code == 2
    assert "holds no synth output: run `scripts/tap synth` first" in err


def test_synth_for_another_environment_is_refused(capsys, isolated, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "tap-synth.json").write_text(json.dumps({"environment": "dev", "suffix": "dev", "stacks": {}}))
    code, err = run(capsys, "apply", "-e", "pr", "-s", "pr1")
    assert code == 2
    assert "was synthesized for dev/dev, not pr/pr1" in err


def test_emulator_required_unless_aws(capsys, isolated, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "tap-synth.json").write_text(json.dumps({"environment": "pr", "suffix": "pr1", "stacks": {}}))
    code, err = run(capsys, "plan", "-e", "pr", "-s", "pr1")
    assert code == 2
    assert "the embedded AWS is not running" in err


def test_bad_tap_cloud_variable(capsys, monkeypatch):
    monkeypatch.setenv("TAP_CLOUD", "azure")
    code, err = run(capsys, "pipeline", "-e", "pr", "-s", "pr1")
    assert code == 2
    assert "TAP_CLOUD='azure' is not a cloud" in err


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
