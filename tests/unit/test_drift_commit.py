"""The drift report names the commit it checked (issue 11): the drift job checks out each
environment's branch, but the CLI stamped ``$GITHUB_SHA`` (the workflow's: main's) on dev and staging."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from scripts.tapctl import cli
from scripts.tapctl.core import paths
from scripts.tapctl.gitops import commits, drift

MAIN_SHA = "b" * 40


def _git(cwd, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(cwd),
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def branch_checkout(tmp_path):
    """A work tree with the environment's branch checked out (its own commit)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "dev")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "dev's tip")
    return repo, _git(repo, "rev-parse", "HEAD").strip()


def test_checked_out_prefers_the_work_tree_over_github_sha(branch_checkout):
    repo, head = branch_checkout
    assert head != MAIN_SHA
    assert commits.checkout_head(repo) == head
    assert commits.checked_out({"GITHUB_SHA": MAIN_SHA}, cwd=repo) == head


def test_checked_out_falls_back_to_github_sha_when_git_fails(tmp_path, monkeypatch):
    not_a_repo = tmp_path / "plain"
    not_a_repo.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert commits.checkout_head(not_a_repo) is None
    assert commits.checked_out({"GITHUB_SHA": MAIN_SHA}, cwd=not_a_repo) == MAIN_SHA

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(commits.subprocess, "run", no_git)
    assert commits.checked_out({"GITHUB_SHA": MAIN_SHA}) == MAIN_SHA
    assert commits.checked_out({}) is None


@pytest.fixture
def drift_cli(monkeypatch):
    """``scripts/tap drift`` up to ``drift.run``, which records the commit it was given."""
    seen: dict[str, object] = {}
    monkeypatch.setattr(drift, "ready_session", lambda target, options: SimpleNamespace(target=target))
    monkeypatch.setattr(drift, "run", lambda session, **kw: seen.update(kw))
    monkeypatch.setenv("GITHUB_SHA", MAIN_SHA)
    return seen


def test_drift_stamps_the_checked_out_branch_commit(drift_cli, branch_checkout, monkeypatch, tmp_path):
    repo, head = branch_checkout
    monkeypatch.setattr(paths, "ROOT", repo)
    assert cli.main(["drift", "-e", "dev", "--report", str(tmp_path / "drift-dev.md")]) == 0
    assert drift_cli["commit"] == head


def test_drift_uses_github_sha_only_when_git_fails(drift_cli, monkeypatch, tmp_path):
    monkeypatch.setattr(commits, "checkout_head", lambda cwd=None: None)
    assert cli.main(["drift", "-e", "dev", "--report", str(tmp_path / "r.md")]) == 0
    assert drift_cli["commit"] == MAIN_SHA


def test_drift_commit_option_overrides(drift_cli, tmp_path):
    assert cli.main(["drift", "-e", "dev", "--report", str(tmp_path / "r.md"), "--commit", "c" * 40]) == 0
    assert drift_cli["commit"] == "c" * 40
