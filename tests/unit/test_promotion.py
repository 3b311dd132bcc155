"""Branch -> environment mapping, the promotion rule, and the CLI commands the
workflows use to ask for them (resolve, promotion-check, destroy-check)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.config import load_all
from scripts.tapctl import cli
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import github, promotion


@pytest.fixture
def gh_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(path))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    return path


def outputs(path: Path) -> dict[str, str]:
    return github.read_outputs(path)


def test_branches_map_to_environments_from_the_env_files():
    assert promotion.branch_map() == {"dev": "dev", "staging": "staging", "main": "prod"}
    assert promotion.env_for_branch("main").name == "prod"
    assert promotion.long_lived() == ["dev", "prod", "staging"]
    assert promotion.ephemeral_template().name == "pr"


def test_unknown_branch_names_the_rule():
    with pytest.raises(TapError, match=r"branch 'feature/x' deploys no environment .* dev -> dev"):
        promotion.env_for_branch("feature/x")


@pytest.mark.parametrize(
    ("head", "base", "allowed"),
    [
        ("feature/login", "dev", True),  # dev has no promote_from: any branch
        ("dev", "staging", True),
        ("staging", "main", True),
        ("feature/login", "staging", False),
        ("dev", "main", False),  # skipping staging
        ("feature/hotfix", "main", False),
        ("main", "staging", False),  # backwards
        ("anything", "docs-branch", True),  # deploys nothing
    ],
)
def test_promotion_rule(head, base, allowed):
    decision = promotion.check_promotion(base=base, head=head)
    assert decision.allowed is allowed, decision.reason


def test_refusal_explains_the_path():
    decision = promotion.check_promotion(base="main", head="dev")
    assert decision.reason == (
        "pull request 'dev' -> 'main' refused: 'main' deploys 'prod' and environments/prod.yaml "
        "allows promote_from: [staging]; promote through dev -> staging -> main"
    )


def test_a_forks_staging_branch_is_not_a_promotion():
    decision = promotion.check_promotion(base="main", head="staging", same_repository=False)
    assert not decision.allowed
    assert "fork" in decision.reason


def test_promote_from_is_read_from_the_files():
    envs = load_all()
    envs["prod"] = envs["prod"].model_copy(update={"promote_from": ["staging", "hotfix"]})
    assert promotion.check_promotion(base="main", head="hotfix", envs=envs).allowed


def test_env_for_suffix():
    assert promotion.env_for_suffix("staging").name == "staging"
    assert promotion.env_for_suffix("pr42").name == "pr"
    with pytest.raises(TapError, match=r"suffix 'qa1' names no environment"):
        promotion.env_for_suffix("qa1")


# -- the CLI commands the workflows call ------------------------------------------------


def test_env_for_branch_command(capsys):
    assert cli.main(["env-for-branch", "staging"]) == 0
    assert capsys.readouterr().out == "staging\n"
    assert cli.main(["env-for-branch", "nope"]) == 2
    assert "deploys no environment" in capsys.readouterr().err


def test_resolve_branch_writes_github_output(gh_output, capsys):
    assert cli.main(["resolve", "--branch", "main"]) == 0
    out = outputs(gh_output)
    env = load_all()["prod"]
    assert out["environment"] == "prod"
    assert out["suffix"] == "prod"
    assert out["plan_role"] == env.ci_roles.plan
    assert out["apply_role"] == env.ci_roles.apply
    assert out["approval_required"] == "true"
    assert out["destroy_allowed"] == "false"
    assert out["github_environment"] == "prod"
    assert "environment=prod" in capsys.readouterr().out


def test_resolve_pr_and_template(gh_output):
    assert cli.main(["resolve", "--pr", "17"]) == 0
    out = outputs(gh_output)
    assert (out["environment"], out["suffix"], out["github_environment"]) == ("pr", "pr17", "pr")
    assert out["apply_role"] == load_all()["pr"].ci_roles.apply
    gh_output.unlink()
    assert cli.main(["resolve", "--ephemeral"]) == 0
    assert outputs(gh_output)["suffix"] == ""


def test_resolve_rejects_a_bad_pr_number(capsys):
    with pytest.raises(SystemExit):
        cli.main(["resolve", "--pr", "0"])
    assert "is not a pull request number" in capsys.readouterr().err


def test_list_environments_matrix(gh_output):
    assert cli.main(["list-environments", "--long-lived"]) == 0
    out = outputs(gh_output)
    assert json.loads(out["environments"]) == ["dev", "prod", "staging"]
    matrix = json.loads(out["matrix"])
    assert [m["branch"] for m in matrix] == ["dev", "main", "staging"]
    assert all(set(m) == {"environment", "suffix", "branch", "region", "plan_role"} for m in matrix)


def test_promotion_check_command(gh_output, capsys):
    assert cli.main(["promotion-check", "--base", "staging", "--head", "dev"]) == 0
    assert cli.main(["promotion-check", "--base", "staging", "--head", "feature/x"]) == 1
    assert "refused" in capsys.readouterr().err
    args = ["--head-repository", "fork/tap", "--repository", "acme/tap"]
    assert cli.main(["promotion-check", "--base", "main", "--head", "staging", *args]) == 1
    summary = (gh_output.parent / "summary.md").read_text()
    assert summary.count("**Promotion check:**") == 3


@pytest.mark.parametrize(
    ("suffix", "confirm", "message"),
    [
        ("prod", "prod", "environment 'prod' is protected"),
        ("staging", "staging", "environment 'staging' is protected"),
        ("pr4", "pr5", "--confirm 'pr5' does not match the suffix 'pr4'"),
        ("qa", "qa", "suffix 'qa' names no environment"),
    ],
)
def test_destroy_check_refuses_before_anything_runs(gh_output, capsys, suffix, confirm, message):
    assert cli.main(["destroy-check", "--suffix", suffix, "--confirm", confirm]) == 2
    assert message in capsys.readouterr().err
    assert not gh_output.exists(), "nothing for later jobs on refusal"


def test_destroy_check_accepts_a_confirmed_ephemeral_or_dev(gh_output):
    assert cli.main(["destroy-check", "--suffix", "pr4", "--confirm", "pr4"]) == 0
    assert outputs(gh_output)["apply_role"] == load_all()["pr"].ci_roles.apply
    assert cli.main(["destroy-check", "--suffix", "dev", "--confirm", "dev"]) == 0


def test_write_outputs_handles_multiline_values(tmp_path):
    target = tmp_path / "out"
    text = github.write_outputs({"a": "1", "b": "x\ny"}, environ={"GITHUB_OUTPUT": str(target)})
    assert text == "a=1\nb=x\ny\n", "what people read"
    assert github.read_outputs(target) == {"a": "1", "b": "x\ny"}
    assert github.run_url({}) is None
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "a/b", "GITHUB_RUN_ID": "9"}
    assert github.run_url(env) == "https://github.com/a/b/actions/runs/9"
    with pytest.raises(TapError, match="is not OWNER/REPO"):
        github.validate_repository("not a repo")


def test_comment_result_parsing():
    from scripts.tapctl.gitops.comment_cli import parse_results

    results = parse_results(["deploy=success", "integration tests=failure", "x="], None)
    assert [(r.name, r.status) for r in results] == [
        ("deploy", "success"),
        ("integration tests", "failure"),
        ("x", "skipped"),
    ]
    with pytest.raises(TapError, match="is not NAME=STATUS"):
        parse_results(["deploy"], None)
    with pytest.raises(TapError, match="status must be one of"):
        parse_results(["deploy=maybe"], None)


def test_comment_command_renders_and_appends_the_job_summary(gh_output, tmp_path, monkeypatch, capsys):
    from scripts.tapctl.stages.plans import summarize

    out = tmp_path / "cdktf.out"
    (out / "stacks" / "file_processing").mkdir(parents=True)
    summary = summarize(
        "file_processing",
        {"resource_changes": [{"address": "aws_s3_bucket.b", "change": {"actions": ["delete"]}}]},
    )
    (out / "stacks" / "file_processing" / "plan-summary.json").write_text(
        json.dumps({"file_processing": summary.to_dict()})
    )
    (out / "stacks" / "file_processing" / "plan.txt").write_text("Plan: 0 to add, 0 to change, 1 to destroy.")
    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuite tests="4" failures="1" errors="0" skipped="0"/>')
    monkeypatch.setenv("CDKTF_OUTDIR", str(out))
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/tap")
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    target = tmp_path / "comment" / "comment.md"
    argv = ["comment", "-e", "dev", "--out", str(target), "--summary", "--commit", "feedface" * 5]
    argv += ["--result", "deploy=success", "--result", "integration tests=failure", "--junit", str(junit)]
    assert cli.main([*argv, "--results-title", "Ephemeral environment `pr3`"]) == 0
    text = target.read_text()
    assert text.startswith("<!-- tap-plan:dev -->")
    assert "[workflow run](https://github.com/acme/tap/actions/runs/77)" in text
    assert "commit `feedfacefeed`" in text
    assert "🗑️ destroy `aws_s3_bucket.b` (file_processing)" in text
    assert "| integration tests | ❌ failure | 3 passed, 1 failed |" in text
    assert (gh_output.parent / "summary.md").read_text().strip() == text.strip()
    assert f"wrote {target}" in capsys.readouterr().out
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "empty"))
    assert cli.main(["comment", "-e", "dev", "--out", str(target)]) == 2
    assert "run `scripts/tap plan` first" in capsys.readouterr().err


def test_approval_check(monkeypatch, capsys):
    seen = {}

    def rules(repository, environment, *, token):
        seen[environment] = repository
        return seen.get("answer", [])

    monkeypatch.setattr(github, "environment_protection_rules", rules)
    assert cli.main(["approval-check", "--branch", "dev", "--repository", "acme/tap"]) == 0
    assert "no approval required" in capsys.readouterr().out
    assert "dev" not in seen, "no API call when the file asks for no approval"
    assert cli.main(["approval-check", "--branch", "main", "--repository", "acme/tap"]) == 1
    err = capsys.readouterr().err
    assert "environments/prod.yaml sets protection.approval_required" in err
    assert "has no required reviewers (rules: none)" in err
    seen["answer"] = ["wait_timer", "required_reviewers"]
    assert cli.main(["approval-check", "--branch", "main", "--repository", "acme/tap"]) == 0
    assert seen["prod"] == "acme/tap"


class FakeResponse:
    def __init__(self, payload) -> None:
        self.payload = json.dumps(payload).encode()

    def read(self) -> bytes:
        return self.payload

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def test_open_pull_requests_pages_through_the_api(monkeypatch):
    calls = []

    def urlopen(request, timeout):
        calls.append((request.full_url, request.get_header("Authorization")))
        page = int(request.full_url.rsplit("page=", 1)[1])
        return FakeResponse([{"number": n} for n in range((page - 1) * 100, min(page * 100, 130))])

    monkeypatch.setattr(github.urllib.request, "urlopen", urlopen)
    numbers = github.open_pull_requests("acme/tap", token="t0k")
    assert numbers == set(range(130))
    assert [c[0].split("?")[1] for c in calls] == [
        "state=open&per_page=100&page=1",
        "state=open&per_page=100&page=2",
    ]
    assert calls[0][1] == "Bearer t0k"


def test_github_api_errors_are_one_line(monkeypatch):
    import urllib.error

    def refused(request, timeout):
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr(github.urllib.request, "urlopen", refused)
    with pytest.raises(TapError, match="cannot list open pull requests of acme/tap"):
        github.open_pull_requests("acme/tap", token=None)
    with pytest.raises(TapError, match="cannot read GitHub environment 'prod' of acme/tap"):
        github.environment_protection_rules("acme/tap", "prod", token=None)

    def missing(request, timeout):
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)

    monkeypatch.setattr(github.urllib.request, "urlopen", missing)
    assert github.environment_protection_rules("acme/tap", "prod", token=None) == []

    def found(request, timeout):
        return FakeResponse({"protection_rules": [{"type": "required_reviewers"}]})

    monkeypatch.setattr(github.urllib.request, "urlopen", found)
    assert github.environment_protection_rules("acme/tap", "prod", token="x") == ["required_reviewers"]
