"""``scripts/tap check``: ``-e ENVLIST`` and ``-- PYTEST_ARGS`` reach tox (issue 11: argparse's
REMAINDER refused the leading ``-e``, so the lint and unit jobs failed on every PR)."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from scripts.tapctl import cli
from scripts.tapctl.cli.parser import build_parser
from scripts.tapctl.core import paths
from scripts.tapctl.stages import check


@pytest.fixture
def tox_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def fake_run(cmd, **kwargs):
        assert kwargs["cwd"] == paths.ROOT
        calls.append(list(cmd))
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(check.subprocess, "run", fake_run)
    return calls


@pytest.mark.parametrize(
    ("argv", "tox_args"),
    [
        (["check", "-e", "lint"], ["-e", "lint"]),
        (["check", "-e", "unit"], ["-e", "unit"]),
        (["check"], ["-e", "lint,unit,e2e"]),
        (["check", "-e", "e2e", "--", "-k", "foo"], ["-e", "e2e", "--", "-k", "foo"]),
        (["check", "--envlist", "unit,e2e", "--", "-x"], ["-e", "unit,e2e", "--", "-x"]),
        (["check", "--", "-k", "foo"], ["-e", "lint,unit,e2e", "--", "-k", "foo"]),
    ],
)
def test_check_passes_the_envlist_and_pytest_args_to_tox(tox_calls, argv, tox_args):
    assert cli.main(argv) == 0
    assert tox_calls == [[sys.executable, "-m", "tox", *tox_args]]


def test_check_parses_with_the_plain_parser():
    args = build_parser().parse_args(["check", "-e", "e2e", "--", "-k", "foo"])
    assert (args.envlist, args.posargs) == ("e2e", ["-k", "foo"])


def test_check_returns_tox_exit_code(monkeypatch):
    monkeypatch.setattr(check.subprocess, "run", lambda cmd, **kw: SimpleNamespace(returncode=3))
    assert cli.main(["check", "-e", "unit"]) == 3


def test_check_refuses_an_unknown_option_before_the_separator(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["check", "-e", "unit", "-k", "foo"])
    assert exc.value.code == 2
    assert "unrecognized arguments: -k" in capsys.readouterr().err


def test_scripts_tap_check_help_shows_the_envlist_option():
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.tapctl", "check", "--help"],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "-e ENVLIST, --envlist ENVLIST" in proc.stdout
