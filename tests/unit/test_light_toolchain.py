"""Jobs that only read environments install a light toolchain (issue 11): ``scripts/tap``
runs resolve, promotion-check, list-environments, destroy-check, approval-check,
env-for-branch and drift-issues from ``$TAP_LIGHT_VENV`` (``requirements-light.lock``), and
those commands never import cdktf, jsii, the provider bindings, boto3 or moto."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.tapctl.core import light_lock, paths

TAP = paths.ROOT / "scripts" / "tap"
HEAVY = ("cdktf", "jsii", "constructs", "cdktf_cdktf_provider_aws", "boto3", "botocore", "moto")


def test_the_light_lock_is_the_full_locks_subset():
    full = (paths.ROOT / "requirements.lock").read_text(encoding="utf-8")
    light = (paths.ROOT / "requirements-light.lock").read_text(encoding="utf-8")
    assert light == light_lock.render(full), "regenerate: python -m scripts.tapctl.core.light_lock"
    pins = light_lock.entries(light)
    assert sorted(pins) == sorted(light_lock.LIGHT_PACKAGES)
    assert all(pins[name] == light_lock.entries(full)[name] for name in pins), "same pins and hashes"
    assert not set(pins) & {"cdktf", "jsii", "boto3", "moto", "cdktf-cdktf-provider-aws"}


def test_scripts_tap_lists_the_same_light_commands():
    text = TAP.read_text(encoding="utf-8")
    case = re.search(r"^\s+(resolve \|[^)]*)\)$", text, re.MULTILINE)
    assert case, "the light-command case in scripts/tap"
    assert tuple(c.strip() for c in case.group(1).split("|")) == light_lock.LIGHT_COMMANDS


LIGHT_RUNS = [
    ["resolve", "--branch", "dev"],
    ["resolve", "--pr", "7"],
    ["promotion-check", "--base", "staging", "--head", "dev"],
    ["list-environments", "--long-lived"],
    ["destroy-check", "--suffix", "pr4", "--confirm", "pr4"],
    ["approval-check", "--branch", "dev", "--repository", "acme/tap"],
    ["env-for-branch", "main"],
    ["drift-issues", "--dir", "{empty}", "--repository", "acme/tap"],
]


def test_light_commands_import_no_cdktf_boto3_or_moto(tmp_path):
    empty = tmp_path / "drift"
    empty.mkdir()
    runs = [[a.replace("{empty}", str(empty)) for a in argv] for argv in LIGHT_RUNS]
    assert {r[0] for r in runs} == set(light_lock.LIGHT_COMMANDS)
    script = (
        "import json, sys\n"
        "from scripts.tapctl import cli\n"
        f"codes = [cli.main(argv) for argv in {runs!r}]\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(json.dumps({'codes': codes, 'heavy': heavy}))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(paths.ROOT),
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_TOKEN": "unused",
        "TAP_WORKDIR": str(tmp_path / "tap"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"codes": [0] * len(runs), "heavy": []}


def _stub_venv(folder: Path, label: str, lock: Path) -> Path:
    """A venv whose python only says which venv ran: stamped as installed from ``lock``."""
    (folder / "bin").mkdir(parents=True)
    python = folder / "bin" / "python"
    python.write_text(f'#!/bin/sh\necho "{label} $*"\n')
    python.chmod(0o755)
    (folder / ".tap-lock").write_text(hashlib.sha256(lock.read_bytes()).hexdigest() + "\n")
    return folder


@pytest.mark.parametrize(
    ("argv", "label"),
    [
        (["resolve", "--branch", "dev"], "light"),
        (["drift-issues", "--dir", "x", "--repository", "a/b"], "light"),
        (["env-for-branch", "main"], "light"),
        (["synth"], "full"),
        (["plan", "--speculative"], "full"),
        (["check", "-e", "unit"], "full"),
        ([], "full"),
    ],
)
def test_scripts_tap_picks_the_venv_by_command(tmp_path, argv, label):
    light = _stub_venv(tmp_path / "light", "light", paths.ROOT / "requirements-light.lock")
    full = _stub_venv(tmp_path / "full", "full", paths.ROOT / "requirements.lock")
    env = {
        "PATH": "/usr/bin:/bin",
        "TAP_VENV": str(full),
        "TAP_LIGHT_VENV": str(light),
        "PYTHON": sys.executable,
    }
    proc = subprocess.run([str(TAP), *argv], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == " ".join([label, "-m", "scripts.tapctl", *argv])
    assert "installing" not in proc.stderr, "an up-to-date venv is not reinstalled"
