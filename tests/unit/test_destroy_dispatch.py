"""A destroy of ``dev`` dispatched from ``main`` (issue 11: "refused by the branch rule").

Neither the CLI nor the OIDC trust has a branch rule: ``destroy-check`` decides by
``protection.destroy_allowed`` only, and the apply role trusts ``environment:<name>``
whatever the branch. The rule is GitHub's deployment-branch policy of the environment the
destroy job runs in; ``deployment_branches`` states what each GitHub environment must
accept (``dev``: its branch and the default branch, where dispatches run), and
``bootstrap-oidc`` prints it next to the roles it creates."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lib.config import load_all
from lib.config.settings.github_oidc import (
    GithubOidcSettings,
    ci_roles,
    deployment_branches,
    github_environment_settings,
)
from scripts.tapctl import cli
from scripts.tapctl.gitops import bootstrap_oidc, github
from scripts.tapctl.stages.plans import PlanSummary

SETTINGS = GithubOidcSettings(repository="acme/tap")


@pytest.fixture
def dispatched_from(tmp_path, monkeypatch):
    """A workflow_dispatch on ``branch``, as GitHub sets it up."""

    def on(branch: str):
        monkeypatch.setenv("GITHUB_EVENT_NAME", "workflow_dispatch")
        monkeypatch.setenv("GITHUB_REF", f"refs/heads/{branch}")
        monkeypatch.setenv("GITHUB_REF_NAME", branch)
        out = tmp_path / f"out-{branch.replace('/', '-')}"
        monkeypatch.setenv("GITHUB_OUTPUT", str(out))
        return out

    return on


@pytest.mark.parametrize("branch", ["main", "dev", "feature/cleanup"])
@pytest.mark.parametrize(("suffix", "github_environment"), [("dev", "dev"), ("pr4", "pr")])
def test_an_unprotected_environment_may_be_destroyed_from_any_branch(
    dispatched_from, branch, suffix, github_environment
):
    out = dispatched_from(branch)
    assert cli.main(["destroy-check", "--suffix", suffix, "--confirm", suffix]) == 0
    values = github.read_outputs(out)
    assert (values["suffix"], values["github_environment"]) == (suffix, github_environment)
    assert values["destroy_allowed"] == "true"


@pytest.mark.parametrize("branch", ["main", "staging", "dev"])
@pytest.mark.parametrize("suffix", ["prod", "staging"])
def test_a_protected_environment_is_refused_from_every_branch(dispatched_from, capsys, branch, suffix):
    out = dispatched_from(branch)
    assert cli.main(["destroy-check", "--suffix", suffix, "--confirm", suffix]) == 2
    assert "protection.destroy_allowed is false" in capsys.readouterr().err
    assert not out.exists()


def test_the_apply_role_trusts_the_environment_not_a_branch():
    roles = {r.arn: r for r in ci_roles(load_all(), "111111111111", SETTINGS)}
    dev_apply = roles["arn:aws:iam::111111111111:role/tap-dev-apply"]
    assert dev_apply.subjects == ("repo:acme/tap:environment:dev",)
    assert not any(":ref:" in s for s in dev_apply.subjects)


def test_deployment_branches_of_each_github_environment():
    envs = load_all()
    assert deployment_branches(envs["dev"], "main") == ("dev", "main"), "dispatches run on main"
    assert deployment_branches(envs["staging"], "main") == ("staging",)
    assert deployment_branches(envs["prod"], "main") == ("main",)
    assert deployment_branches(envs["pr"], "main") is None, "pull_request refs: all branches"
    assert deployment_branches(envs["dev"], "trunk") == ("dev", "trunk")


def test_bootstrap_oidc_prints_the_github_environment_settings(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path))
    monkeypatch.setattr(bootstrap_oidc, "preflight", lambda: "/bin/terraform")
    monkeypatch.setattr(bootstrap_oidc, "open_session", lambda target, options, terraform: SimpleNamespace())
    result = SimpleNamespace(
        roles=["plan: r"], plan=PlanSummary("github-oidc"), stack_dir=tmp_path, applied=False
    )
    monkeypatch.setattr(bootstrap_oidc, "run", lambda session, settings, apply: result)
    argv = ["bootstrap-oidc", "-e", "dev", "--cloud", "aws", "--repository", "acme/tap"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert "GitHub environment dev: deployment branches dev, main; no reviewers" in out
    assert "GitHub environment pr: deployment branches all branches; no reviewers" in out
    assert github_environment_settings(load_all(), "333333333333", SETTINGS) == [
        "GitHub environment prod: deployment branches main; required reviewers"
    ]
