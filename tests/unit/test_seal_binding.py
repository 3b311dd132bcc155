"""A sealed plan is bound to its environment instance and commit (issue 11): the AES-GCM
associated data holds environment, suffix and commit, so a file sealed for one target or
run cannot be replayed into another."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.tapctl import cli
from scripts.tapctl.gitops import commits
from scripts.tapctl.stages import seal
from tests.unit.sealed_plans import assert_unseal_refused

KEY = "k" * 40
COMMIT = "1" * 40
BOUND = seal.Binding(environment="staging", suffix="staging", commit=COMMIT)


def _plans(root: Path) -> Path:
    out = root / "cdktf.out"
    (out / "stacks" / "platform").mkdir(parents=True)
    (out / "stacks" / "platform" / "tfplan").write_bytes(b"PK plan")
    return out


@pytest.fixture
def sealed(tmp_path: Path) -> Path:
    path = tmp_path / "plans.sealed"
    seal.seal(_plans(tmp_path), path, KEY, binding=BOUND)
    return path


def test_the_same_environment_suffix_and_commit_unseal(sealed, tmp_path):
    names = seal.unseal(sealed, tmp_path / "into", KEY, binding=BOUND)
    assert (tmp_path / "into" / "stacks" / "platform" / "tfplan").read_bytes() == b"PK plan"
    assert any(n.endswith("tfplan") for n in names)


@pytest.mark.parametrize(
    ("other", "named"),
    [
        (seal.Binding("prod", "prod", COMMIT), "environment 'staging' (expected 'prod')"),
        (seal.Binding("staging", "staging2", COMMIT), "suffix 'staging' (expected 'staging2')"),
        (seal.Binding("staging", "staging", "2" * 40), f"commit '{COMMIT}' (expected '{'2' * 40}')"),
    ],
)
def test_replay_into_another_target_or_run_is_refused_before_writing(sealed, tmp_path, other, named):
    match = "was sealed for another target or commit"
    err = assert_unseal_refused(sealed, tmp_path / "into", match, key=KEY, binding=other)
    assert named in str(err)


def test_an_edited_binding_fails_authentication(sealed, tmp_path):
    """Rewriting the clear-text binding to match the target does not help: it is associated data."""
    blob = sealed.read_bytes()
    forged = blob.replace(b'"environment":"staging"', b'"environment":"prod!!!"')
    assert forged != blob
    sealed.write_bytes(forged)
    prod = seal.Binding("prod!!!", "staging", COMMIT)
    assert_unseal_refused(sealed, tmp_path / "into", "cannot be authenticated", key=KEY, binding=prod)


def test_a_file_of_the_unbound_format_is_refused(tmp_path):
    old = tmp_path / "old.sealed"
    old.write_bytes(b"TAPSEAL1" + b"\0" * 64)
    assert_unseal_refused(old, tmp_path / "into", "sealed without a binding", key=KEY, binding=BOUND)


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TAP_PLAN_KEY", KEY)
    for key in ("ENVIRONMENT", "ENVIRONMENT_SUFFIX", "TAP_COMMIT", "GITHUB_SHA"):
        monkeypatch.delenv(key, raising=False)
    return _plans(tmp_path)


def test_cli_binds_env_suffix_and_commit_and_refuses_another(cli_env, tmp_path, capsys):
    out = tmp_path / "p.sealed"
    assert (
        cli.main(["seal", str(cli_env), "--out", str(out), "-e", "pr", "-s", "pr7", "--commit", COMMIT]) == 0
    )
    into = ["--into", str(tmp_path / "into")]
    assert cli.main(["unseal", str(out), *into, "-e", "pr", "-s", "pr8", "--commit", COMMIT]) == 2
    assert "suffix 'pr7' (expected 'pr8')" in capsys.readouterr().err
    assert cli.main(["unseal", str(out), *into, "-e", "dev", "--commit", COMMIT]) == 2
    assert "environment 'pr' (expected 'dev')" in capsys.readouterr().err
    assert cli.main(["unseal", str(out), *into, "-e", "pr", "-s", "pr7", "--commit", "3" * 40]) == 2
    assert "was sealed for another target or commit: commit" in capsys.readouterr().err
    assert not (tmp_path / "into").exists()
    assert cli.main(["unseal", str(out), *into, "-e", "pr", "-s", "pr7", "--commit", COMMIT]) == 0


def test_cli_defaults_environment_and_commit_from_the_job(cli_env, tmp_path, monkeypatch, capsys):
    """$ENVIRONMENT/$ENVIRONMENT_SUFFIX like other commands; $TAP_COMMIT, $GITHUB_SHA, then git."""
    out = tmp_path / "p.sealed"
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("GITHUB_SHA", COMMIT)
    assert cli.main(["seal", str(cli_env), "--out", str(out)]) == 0
    assert "for staging/staging at 111111111111" in capsys.readouterr().err
    assert cli.main(["unseal", str(out), "--into", str(tmp_path / "a"), "--commit", COMMIT]) == 0
    monkeypatch.setenv("TAP_COMMIT", "4" * 40)  # wins over $GITHUB_SHA
    assert cli.main(["unseal", str(out), "--into", str(tmp_path / "b")]) == 2
    monkeypatch.delenv("TAP_COMMIT")
    monkeypatch.delenv("GITHUB_SHA")
    monkeypatch.setattr(commits, "checkout_head", lambda cwd=None: COMMIT)
    assert cli.main(["unseal", str(out), "--into", str(tmp_path / "c")]) == 0
    monkeypatch.setattr(commits, "checkout_head", lambda cwd=None: None)
    assert cli.main(["unseal", str(out), "--into", str(tmp_path / "d")]) == 2
    assert "no commit to bind to" in capsys.readouterr().err
