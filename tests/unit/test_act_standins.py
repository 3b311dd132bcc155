"""The local stand-ins for third-party actions behave like the actions they replace:
artifact name/path semantics, sticky comments through the fake GitHub API, and the
OIDC decision taken from the bootstrap's trust data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scripts.tapctl.gitops.act import oidc, runner, standins
from scripts.tapctl.gitops.act.github_fake import Client, FakeGithub


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ws))
    monkeypatch.setenv("TAP_ACT_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.chdir(ws)
    return ws


def inputs(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"INPUT_{key.upper()}", value)


def write(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_upload_keeps_paths_below_the_least_common_ancestor_and_download_restores_them(
    job, monkeypatch, tmp_path
):
    write(job / "build/comment/comment.md", "hello")
    write(job / "build/base/cdktf.out/plan-summary.json", "{}")
    write(job / "build/base/cdktf.out/stacks/a/plan.txt", "plan a")
    write(job / "build/base/cdktf.out/stacks/a/tfplan", "binary")
    inputs(
        monkeypatch,
        name="plan",
        if_no_files_found="error",
        path="build/comment/\nbuild/base/cdktf.out/plan-summary.json\nbuild/base/cdktf.out/stacks/*/plan.txt",
    )
    standins.upload_artifact()
    stored = sorted(
        str(p.relative_to(tmp_path / "artifacts/plan"))
        for p in (tmp_path / "artifacts/plan").rglob("*")
        if p.is_file()
    )
    assert stored == [
        "base/cdktf.out/plan-summary.json",
        "base/cdktf.out/stacks/a/plan.txt",
        "comment/comment.md",
    ]
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("GITHUB_WORKSPACE", str(other))
    inputs(monkeypatch, name="plan", path="build/")
    standins.download_artifact()
    assert (other / "build/comment/comment.md").read_text() == "hello"
    assert not (other / "build/base/cdktf.out/stacks/a/tfplan").exists()


def test_upload_refuses_a_second_upload_of_a_name_unless_overwrite(job, monkeypatch):
    write(job / "out/f.txt")
    inputs(monkeypatch, name="outputs", path="out/")
    standins.upload_artifact()
    with pytest.raises(standins.StandInError, match="already exists"):
        standins.upload_artifact()
    inputs(monkeypatch, overwrite="true")
    standins.upload_artifact()


def test_if_no_files_found_error_fails_and_warn_does_not(job, monkeypatch, capsys):
    inputs(monkeypatch, name="none", path="missing/", if_no_files_found="error")
    with pytest.raises(standins.StandInError, match="No files were found"):
        standins.upload_artifact()
    inputs(monkeypatch, if_no_files_found="warn")
    standins.upload_artifact()
    assert "::warning::No files were found" in capsys.readouterr().out


def test_hidden_files_need_include_hidden_files(job, monkeypatch):
    write(job / ".tap/scan/results.sarif")
    inputs(monkeypatch, name="sarif", path=".tap/scan/results.sarif", if_no_files_found="error")
    with pytest.raises(standins.StandInError, match="No files were found"):
        standins.upload_artifact()
    inputs(monkeypatch, include_hidden_files="true")
    standins.upload_artifact()


def test_download_of_a_missing_name_fails_and_pattern_merges(job, monkeypatch, tmp_path):
    inputs(monkeypatch, name="nope", path="x")
    with pytest.raises(standins.StandInError, match="Artifact not found for name: nope"):
        standins.download_artifact()
    for env in ("dev", "prod"):
        write(tmp_path / f"artifacts/drift-{env}/drift-{env}.json", env)
    write(tmp_path / "artifacts/other/o.txt")
    inputs(monkeypatch, name="", pattern="drift-*", merge_multiple="true", path="build/drift")
    standins.download_artifact()
    assert sorted(p.name for p in (job / "build/drift").iterdir()) == ["drift-dev.json", "drift-prod.json"]


def test_setup_terraform_refuses_another_version(job, monkeypatch):
    inputs(monkeypatch, terraform_version="0.12.31", terraform_wrapper="false")
    with pytest.raises(standins.StandInError, match=r"0\.12\.31 was asked for"):
        standins.setup_terraform()


def test_sticky_comment_is_updated_in_place_per_header(job, monkeypatch, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {"number": 7}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/tap")
    with FakeGithub(tmp_path / "github.json", "tok") as gh:
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        for body in ("first", "second"):
            inputs(monkeypatch, header="tap-plan", message=body, github_token="tok")
            standins.sticky_comment()
        inputs(monkeypatch, header="other", message="else", github_token="tok")
        standins.sticky_comment()
        comments = Client(gh.url, "tok").get("/repos/acme/tap/issues/7/comments")
    bodies = [c["body"].split("\n")[0] for c in comments]
    assert bodies == ["second", "else"], "one comment per header, replaced, never duplicated"


def test_fake_github_refuses_a_wrong_token(tmp_path):
    with FakeGithub(tmp_path / "github.json", "right") as gh, pytest.raises(RuntimeError, match="HTTP 401"):
        Client(gh.url, "wrong").get("/repos/acme/tap/pulls")


# -- OIDC: the bootstrap's trust data decides -------------------------------------------------

PR_EVENT = {"pull_request": {"head": {"repo": {"full_name": "acme/tap"}}}}


def decide(role_arn: str, event_name: str, event: dict, ref: str = "") -> str:
    role = oidc.find_role(role_arn, "acme/tap", "main")
    return oidc.decide(role, event_name=event_name, event=event, ref=ref, repository="acme/tap")


def test_a_pr_job_gets_the_plan_role_and_the_ephemeral_apply_role():
    assert decide("arn:aws:iam::111111111111:role/tap-dev-plan", "pull_request", PR_EVENT) == (
        "repo:acme/tap:pull_request"
    )
    assert decide("arn:aws:iam::111111111111:role/tap-pr-apply", "pull_request", PR_EVENT) == (
        "repo:acme/tap:environment:pr"
    )


def test_a_fork_pr_gets_no_token():
    fork = {"pull_request": {"head": {"repo": {"full_name": "mallory/tap"}}}}
    with pytest.raises(oidc.Refused, match="mallory/tap gets no OIDC token"):
        decide("arn:aws:iam::111111111111:role/tap-dev-plan", "pull_request", fork)


def test_a_pr_job_may_not_assume_a_long_lived_apply_role():
    with pytest.raises(oidc.Refused, match="a pull request job may not assume it"):
        decide("arn:aws:iam::111111111111:role/tap-dev-apply", "pull_request", PR_EVENT)


def test_a_push_gets_the_plan_role_of_its_branch_only(monkeypatch):
    assert decide("arn:aws:iam::222222222222:role/tap-staging-plan", "push", {}, "refs/heads/staging")
    with pytest.raises(oidc.Refused, match="this job's token says repo:acme/tap:ref:refs/heads/feature"):
        decide("arn:aws:iam::222222222222:role/tap-staging-plan", "push", {}, "refs/heads/feature")


def test_prod_apply_needs_a_recorded_approval(monkeypatch):
    monkeypatch.delenv("TAP_ACT_APPROVALS", raising=False)
    with pytest.raises(oidc.Refused, match="'prod' requires approval"):
        decide("arn:aws:iam::333333333333:role/tap-prod-apply", "push", {}, "refs/heads/main")
    monkeypatch.setenv("TAP_ACT_APPROVALS", "prod")
    assert decide("arn:aws:iam::333333333333:role/tap-prod-apply", "push", {}, "refs/heads/main") == (
        "repo:acme/tap:environment:prod"
    )


def test_an_unknown_role_is_refused():
    with pytest.raises(oidc.Refused, match="is not a role `scripts/tap bootstrap-oidc` creates"):
        oidc.find_role("arn:aws:iam::111111111111:role/admin", "acme/tap", "main")


# -- the runner ------------------------------------------------------------------------------


def test_every_action_the_workflows_use_has_a_stand_in():
    pins = runner.pinned_actions()
    assert {p.split("@")[0] for p in pins} >= {
        "actions/checkout", "actions/setup-python", "actions/upload-artifact", "actions/download-artifact",
        "actions/cache", "aws-actions/configure-aws-credentials", "marocchino/sticky-pull-request-comment",
    }  # fmt: skip
    assert all(Path(folder, "action.yml").is_file() for folder in pins.values())


def test_act_log_lines_become_job_results():
    started: dict[str, float] = {}
    results: list[runner.JobResult] = []
    lines = [
        {"jobID": "plan", "msg": "⭐ Run Main scripts/tap plan", "time": "2026-01-01T00:00:00Z"},
        {"jobID": "plan", "msg": "  ❌  Failure - Main scripts/tap plan", "stepResult": "failure",
         "time": "2026-01-01T00:00:30Z"},
        {"jobID": "plan", "jobResult": "failure", "msg": "🏁  Job failed", "time": "2026-01-01T00:00:31Z"},
    ]  # fmt: skip
    shown = [runner._parse(json.dumps(line), started, results) for line in lines]
    assert shown[-1] == "== job plan: failure (31s)"
    assert results == [runner.JobResult("plan", "failure", 31.0)]


def test_jobs_get_a_runner_environment_not_this_shell_s(monkeypatch):
    monkeypatch.setenv("CDKTF_OUTDIR", "/tmp/shared")
    monkeypatch.setenv("TAP_WORKDIR", "/tmp/w")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("PIP_INDEX_URL", "https://pypi.example/simple")
    env = runner.runner_environment()
    assert not {"CDKTF_OUTDIR", "TAP_WORKDIR", "AWS_ACCESS_KEY_ID"} & set(env)
    assert env["PATH"] == f"{runner.RUNNER_BIN}{os.pathsep}{os.environ['PATH']}", (
        "the runner image's commands this machine lacks (docker) come first, then this PATH"
    )
    assert env["PIP_INDEX_URL"] == "https://pypi.example/simple"


def test_main_turns_a_refusal_into_an_error_line_and_exit_1(job, monkeypatch, capsys):
    inputs(monkeypatch, name="nope", path="x")
    assert standins.main(["download-artifact"]) == 1
    assert "::error::Unable to download artifact(s)" in capsys.readouterr().out
    assert standins.main(["no-such-verb"]) == 2


def test_outputs_use_a_fresh_random_delimiter_per_value(job, monkeypatch, tmp_path):
    standins.set_outputs(a="1", b="two\nlines")
    text = (tmp_path / "output").read_text().splitlines()
    delimiters = {line.split("<<", 1)[1] for line in text if "<<" in line}
    assert len(delimiters) == 2
    assert text[0].startswith("a<<ghadelimiter_")
    assert text[1:3] == ["1", text[0].split("<<", 1)[1]]


def test_setup_python_checks_the_host_version(job, monkeypatch, tmp_path):
    import sys

    inputs(monkeypatch, python_version=f"{sys.version_info.major}.{sys.version_info.minor}")
    monkeypatch.setattr(standins.shutil, "which", lambda name: sys.executable)
    standins.setup_python()
    assert "python-version<<" in (tmp_path / "output").read_text()
    inputs(monkeypatch, python_version="2.7")
    with pytest.raises(standins.StandInError, match=r"2\.7 was asked for"):
        standins.setup_python()
    inputs(monkeypatch, python_version="3.x")
    with pytest.raises(standins.StandInError, match="only exact versions"):
        standins.setup_python()


def test_cache_hits_only_when_every_path_exists(job, monkeypatch, tmp_path):
    (tmp_path / "kept").mkdir()
    inputs(monkeypatch, path=f"{tmp_path / 'kept'}\n{tmp_path / 'missing'}", key="k")
    standins.cache()
    assert "false" in (tmp_path / "output").read_text()
    (tmp_path / "missing").mkdir()
    standins.cache()
    assert (tmp_path / "output").read_text().rstrip().splitlines()[-2] == "true"


def test_checkout_with_ref_copies_the_work_tree_without_ignored_files(job, monkeypatch, tmp_path):
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    write(repo / "tracked.txt", "t")
    write(repo / ".gitignore", "ignored/\n")
    write(repo / "ignored/secret.txt", "s")
    monkeypatch.setenv("TAP_ACT_ROOT", str(repo))
    inputs(monkeypatch, ref="dev")
    standins.checkout()
    assert (job / "tracked.txt").read_text() == "t"
    assert not (job / "ignored").exists()
    standins.checkout()  # a workspace that already has files is left as it is


def test_configure_aws_credentials_exports_the_granted_environment(job, monkeypatch, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps(PR_EVENT))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/tap")
    monkeypatch.setenv("GITHUB_ENV", str(tmp_path / "env"))
    monkeypatch.setenv("TAP_ACT_OUT", str(tmp_path))
    monkeypatch.setattr(oidc, "emulator_environment", lambda account, region: {"AWS_REGION": region})
    inputs(monkeypatch, role_to_assume="arn:aws:iam::111111111111:role/tap-dev-plan", aws_region="us-east-1")
    standins.configure_aws_credentials()
    assert "AWS_REGION<<" in (tmp_path / "env").read_text()
    (grant,) = [json.loads(line) for line in (tmp_path / "credentials.jsonl").read_text().splitlines()]
    assert grant["granted"] is True
    inputs(monkeypatch, allowed_account_ids="999999999999")
    with pytest.raises(standins.StandInError, match="not in allowed-account-ids"):
        standins.configure_aws_credentials()
    inputs(monkeypatch, allowed_account_ids="", role_to_assume="arn:aws:iam::111111111111:role/tap-dev-apply")
    with pytest.raises(oidc.Refused):
        standins.configure_aws_credentials()
    refused = json.loads((tmp_path / "credentials.jsonl").read_text().splitlines()[-1])
    assert refused["granted"] is False
