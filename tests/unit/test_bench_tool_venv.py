"""A tool's own virtualenv from a hashed lock (checkov, the benchmark's chart): reuse, reinstall, refuse.

pip and ``python -m venv`` are faked here; the real install is exercised by
``test_bench_chart.py`` (the chart venv).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts.tapctl.core import tool_venv
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages import scan


@pytest.fixture
def tools(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TAP_TOOLS_DIR", str(tmp_path / "tools"))
    return tmp_path / "tools"


def _lock(tmp_path: Path, text: str = "x==1 --hash=sha256:00\n") -> Path:
    lock = tmp_path / "x.lock"
    lock.write_text(text)
    return lock


def _fake_install(monkeypatch, calls: list[list[str]], *, pip_fails: bool = False) -> None:
    def run(cmd, **kw):
        calls.append([str(c) for c in cmd])
        if cmd[1:3] == ["-m", "venv"]:
            (Path(cmd[3]) / "bin").mkdir(parents=True)
            (Path(cmd[3]) / "bin" / "python").write_text("")
            return subprocess.CompletedProcess(cmd, 0, "", "")
        if pip_fails:
            return subprocess.CompletedProcess(cmd, 1, "", "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES")
        (Path(cmd[0]).parent / "x").write_text("")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(tool_venv.subprocess, "run", run)


def test_installs_from_the_lock_with_hashes_and_stamps_it(tools, tmp_path, monkeypatch):
    calls: list[list[str]] = []
    _fake_install(monkeypatch, calls)
    lock = _lock(tmp_path)
    binary = tool_venv.ensure("x", lock, "x")
    assert binary == tools / "x" / "bin" / "x"
    venv, pip = calls
    assert venv[1:] == ["-m", "venv", str(tools / "x")]
    assert pip[0] == str(tools / "x" / "bin" / "python")
    assert pip[-4:] == ["--require-hashes", "--no-deps", "-r", str(lock)]
    assert (tools / "x" / tool_venv.STAMP).read_text() == tool_venv._lock_digest(lock)
    calls.clear()
    assert tool_venv.ensure("x", lock, "x") == binary
    assert calls == [], "a venv stamped with this lock is reused"
    assert tool_venv.installed("x", lock, "x")
    assert not tool_venv.installed("x", _lock(tmp_path, "x==2 --hash=sha256:11\n"), "x")


def test_a_changed_lock_reinstalls_from_scratch(tools, tmp_path, monkeypatch):
    calls: list[list[str]] = []
    _fake_install(monkeypatch, calls)
    tool_venv.ensure("x", _lock(tmp_path), "x")
    (tools / "x" / "leftover").write_text("")
    calls.clear()
    tool_venv.ensure("x", _lock(tmp_path, "x==2 --hash=sha256:11\n"), "x")
    assert len(calls) == 2
    assert not (tools / "x" / "leftover").exists()


def test_without_install_a_missing_venv_is_an_error(tools, tmp_path, monkeypatch):
    calls: list[list[str]] = []
    _fake_install(monkeypatch, calls)
    with pytest.raises(TapError, match=r"x is not installed in .*tools/x, and installing it was not allowed"):
        tool_venv.ensure("x", _lock(tmp_path), "x", install=False)
    assert calls == []


def test_a_failed_install_names_the_tool_and_pips_error_and_leaves_no_stamp(tools, tmp_path, monkeypatch):
    _fake_install(monkeypatch, [], pip_fails=True)
    with pytest.raises(TapError, match="installing x failed: ERROR: THESE PACKAGES DO NOT MATCH THE HASHES"):
        tool_venv.ensure("x", _lock(tmp_path), "x")
    assert not (tools / "x" / tool_venv.STAMP).exists()


def test_checkov_is_the_same_function_with_its_own_lock(monkeypatch):
    seen: list[tuple] = []
    monkeypatch.setattr(tool_venv, "ensure", lambda *a, **kw: seen.append(a) or Path("/x/bin/checkov"))
    assert scan.checkov_binary() == Path("/x/bin/checkov")
    assert seen == [("checkov", scan.LOCK, "checkov")]


def test_tools_dir_is_tap_tools_dir_or_the_workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("TAP_TOOLS_DIR", str(tmp_path / "cache"))
    assert tool_venv.tools_dir() == tmp_path / "cache"
    monkeypatch.delenv("TAP_TOOLS_DIR")
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "w"))
    assert tool_venv.tools_dir() == tmp_path / "w" / "tools"
