"""Stand-ins for the ``terraform`` binary: shell scripts in the test's temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest


def terraform_script(tmp_path: Path, body: str) -> str:
    """An executable ``terraform`` that runs the shell ``body``; returns its path."""
    script = tmp_path / "terraform"
    script.write_text(f"#!/bin/sh\n{body}")
    script.chmod(0o755)
    return str(script)


def recording_terraform(tmp_path: Path) -> tuple[str, Path]:
    """A ``terraform`` that appends its arguments to a file, one call a line: (binary, that file)."""
    calls = tmp_path / "calls"
    return terraform_script(tmp_path, f'echo "$@" >> {calls}\n'), calls


def stack_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stack: str) -> Path:
    """``$TAP_WORKDIR`` under ``tmp_path`` and an empty stack directory to run Terraform in."""
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    stack_dir = tmp_path / stack
    stack_dir.mkdir()
    return stack_dir
