"""The GitOps commands end to end in-process, without Terraform or a cloud:
drift (issue text and outputs), the janitor against S3 (moto, in-process),
the GitHub API through a real HTTP server on 127.0.0.1, and the OIDC bootstrap with
a recording Terraform. (The workflow events themselves run through act in tests/e2e.)"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from lib.config import load_all, resolve_target
from scripts.tapctl import cli
from scripts.tapctl.core import outdirs, paths
from scripts.tapctl.core.cloud import Cloud
from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.gitops import bootstrap_oidc, commits, drift, github, janitor, promotion
from scripts.tapctl.stages import destroy, state, synth
from scripts.tapctl.stages.session import Session, SessionOptions

AWS = Cloud("aws", {})


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Own work dirs, no GitHub variables, fake AWS credentials (moto)."""
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "AWS_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "cdktf.out"))
    monkeypatch.setenv("TAP_OUTPUTS_DIR", str(tmp_path / "cfn-outputs"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    return tmp_path


def gh_outputs(root: Path) -> dict[str, str]:
    return github.read_outputs(root / "github_output")


# -- outdirs ---------------------------------------------------------------------------


def test_outdirs_scoped_sets_and_restores(tmp_path, monkeypatch):
    monkeypatch.setenv("CDKTF_OUTDIR", "/before/cdktf.out")
    monkeypatch.delenv("TAP_OUTPUTS_DIR", raising=False)
    with outdirs.scoped(tmp_path / "pr7") as root:
        assert root.is_dir()
        assert paths.outdir() == tmp_path / "pr7" / "cdktf.out"
        assert paths.outputs_dir() == tmp_path / "pr7" / "cfn-outputs"
    assert os.environ["CDKTF_OUTDIR"] == "/before/cdktf.out"
    assert "TAP_OUTPUTS_DIR" not in os.environ
    with pytest.raises(RuntimeError), outdirs.scoped(tmp_path / "x"):
        raise RuntimeError("restored even on error")
    assert os.environ["CDKTF_OUTDIR"] == "/before/cdktf.out"


# -- drift -----------------------------------------------------------------------------

DELETE_BUCKET = {"resource_changes": [{"address": "aws_s3_bucket.b", "change": {"actions": ["delete"]}}]}


class FakeTerraform:
    """``plan -detailed-exitcode`` outcomes per stack: False (clean), a plan dict, or an error."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def init(self) -> None:
        return None

    def plan(
        self, plan_file: str, *, destroy: bool = False, detailed: bool = False, lock: bool = True
    ) -> bool:
        assert detailed, "drift plans with -detailed-exitcode"
        assert lock is False, "a scheduled drift check never takes the live state lock"
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome is not False

    def show_json(self, plan_file: str) -> str:
        return json.dumps(self.outcome)

    def show_text(self, plan_file: str) -> str:
        return f"plan text of {sorted(self.outcome)}"


class FakeSession:
    def __init__(self, target, outcomes: dict[str, Any], outdir: Path) -> None:
        self.target = target
        self.outcomes = outcomes
        self.options = SessionOptions(parallelism=2)
        self.outdir = outdir
        outdir.mkdir(parents=True, exist_ok=True)

    @property
    def stacks(self) -> list[str]:
        return list(self.outcomes)

    def tf(self, stack: str) -> FakeTerraform:
        return FakeTerraform(self.outcomes[stack])

    deps: dict[str, list[str]] = {}  # noqa: RUF012 - read only
    run_stacks = Session.run_stacks  # the real scheduling over these stacks


def test_drift_detect_classifies_each_stack(tmp_path):
    outcomes = {
        "clean": False,
        "bucket": DELETE_BUCKET,
        "outputs": {"resource_changes": [], "output_changes": {"x": {}}},
        "broken": StageFailed("Error: AccessDenied"),
    }
    result = drift.detect(FakeSession(resolve_target("dev", None), outcomes, tmp_path))
    assert result.drifted
    assert result.failed
    assert result.summaries["clean"].has_changes is False
    assert result.summaries["bucket"].destroy == 1
    assert result.summaries["outputs"].output_changes == 1, "exit 2 without resource changes"
    assert "AccessDenied" in (result.summaries["broken"].error or "")
    assert result.texts["bucket"] == "plan text of ['resource_changes']"
    saved = json.loads((tmp_path / drift.DRIFT_SUMMARY).read_text())
    assert saved["bucket"]["destroy"] == 1
    assert saved["clean"]["add"] == 0


def test_drift_run_writes_the_issue_and_fails_when_a_plan_errored(isolated, capsys):
    target = resolve_target("staging", None)
    session = FakeSession(
        target, {"file_processing": DELETE_BUCKET, "net": StageFailed("boom")}, isolated / "o"
    )
    report = isolated / "drift" / "staging.md"
    with pytest.raises(StageFailed, match="could not plan every stack of staging"):
        drift.run(session, report=report, commit="c0ffee" * 7)
    text = report.read_text()
    assert text.startswith("<!-- tap-drift:staging -->")
    assert "Drift detected" in text
    assert "commit `c0ffeec0ffee`" in text
    assert "destroy `aws_s3_bucket.b` (file_processing)" in text
    assert "boom" in text
    meta = json.loads(report.with_suffix(".json").read_text())
    assert meta == {
        "environment": "staging",
        "report": "staging.md",
        "marker": "<!-- tap-drift:staging -->",
        "title": "Drift detected in staging",
        "open_issue": True,
        "resolved": "No drift in `staging` any more: every stack matches its state. Closing.",
    }
    assert gh_outputs(isolated) == {"drifted": "true", "failed": "true"}
    assert (isolated / "summary.md").read_text().startswith("<!-- tap-drift:staging -->")
    assert "staging: drift detected" in capsys.readouterr().out


def test_drift_command_without_drift(isolated, monkeypatch, capsys):
    sessions = []

    def session(tgt, options):
        sessions.append((options.cloud, tgt.env.name))
        return FakeSession(tgt, {"file_processing": False}, isolated / "o")

    monkeypatch.setattr(drift, "ready_session", session)
    monkeypatch.setenv("GITHUB_SHA", "ab" * 20)  # the workflow's (main's): not what drift checked
    monkeypatch.setattr(commits, "checkout_head", lambda cwd=None: "cd" * 20)
    report = isolated / "drift-dev.md"
    assert cli.main(["drift", "-e", "dev", "--cloud", "aws", "--report", str(report)]) == 0
    assert sessions == [("aws", "dev")]
    text = report.read_text()
    assert "Drift check" in text
    assert "Drift detected" not in text
    assert "commit `cdcdcdcdcdcd`" in text, "the checked-out branch's commit"
    meta = json.loads(report.with_suffix(".json").read_text())
    assert meta["open_issue"] is False
    assert gh_outputs(isolated) == {"drifted": "false", "failed": "false"}
    assert "dev: no drift" in capsys.readouterr().out


# -- the GitHub API over HTTP ----------------------------------------------------------


class FakeGitHub(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, Any]]] = {}
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        status, body = self.routes.get(self.path, (404, {"message": "Not Found"}))
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def fake_github(monkeypatch) -> Iterator[type[FakeGitHub]]:
    handler = type("Handler", (FakeGitHub,), {"routes": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.server_port}/")
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def test_api_url_defaults_to_github_com():
    assert github.api_url({}) == "https://api.github.com"
    assert github.api_url({"GITHUB_API_URL": "https://ghe.example/api/v3/"}) == "https://ghe.example/api/v3"


def test_open_pull_requests_over_http(fake_github):
    base = "/repos/acme/tap/pulls?state=open&per_page=100"
    fake_github.routes[f"{base}&page=1"] = (200, [{"number": n} for n in range(1, 101)])
    fake_github.routes[f"{base}&page=2"] = (200, [{"number": 412}])
    assert github.open_pull_requests("acme/tap", token="tok") == {*range(1, 101), 412}
    assert [s[1] for s in fake_github.seen] == ["Bearer tok", "Bearer tok"]
    fake_github.routes[f"{base}&page=1"] = (500, {"message": "boom"})
    with pytest.raises(TapError, match="cannot list open pull requests of acme/tap: HTTP Error 500"):
        github.open_pull_requests("acme/tap", token=None)
    fake_github.routes[f"{base}&page=1"] = (200, b"not json")
    with pytest.raises(TapError, match="cannot list open pull requests"):
        github.open_pull_requests("acme/tap", token=None)
    with pytest.raises(TapError, match="is not OWNER/REPO"):
        github.open_pull_requests("acme/tap/../x", token=None)


def test_environment_rules_over_http(fake_github):
    fake_github.routes["/repos/acme/tap/environments/prod"] = (
        200,
        {"protection_rules": [{"type": "wait_timer"}, {"type": "required_reviewers"}]},
    )
    assert github.environment_protection_rules("acme/tap", "prod", token=None) == [
        "wait_timer",
        "required_reviewers",
    ]
    assert github.environment_protection_rules("acme/tap", "staging", token=None) == [], "404: no env"
    fake_github.routes["/repos/acme/tap/environments/dev"] = (403, {"message": "forbidden"})
    with pytest.raises(TapError, match="cannot read GitHub environment 'dev' of acme/tap: HTTP Error 403"):
        github.environment_protection_rules("acme/tap", "dev", token=None)
    assert fake_github.seen[0] == ("/repos/acme/tap/environments/prod", None)


def test_approval_check_command_over_http(isolated, fake_github, capsys):
    fake_github.routes["/repos/acme/tap/environments/prod"] = (200, {"protection_rules": []})
    assert cli.main(["approval-check", "--branch", "main", "--repository", "acme/tap"]) == 1
    assert "has no required reviewers (rules: none)" in capsys.readouterr().err
    assert cli.main(["approval-check", "--branch", "main", "--repository", "not a repo"]) == 2
    assert "is not OWNER/REPO" in capsys.readouterr().err


def test_outputs_and_summary_outside_actions(tmp_path):
    assert github.write_outputs({"a": "1"}, environ={}) == "a=1\n"
    assert github.append_step_summary("# hi", environ={}) is None
    assert github.run_url({}) is None
    path = tmp_path / "s.md"
    assert github.append_step_summary("# hi\n\n\n", environ={"GITHUB_STEP_SUMMARY": str(path)}) == path
    assert path.read_text() == "# hi\n\n"


# -- argument types --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["janitor", "--open-prs", "7,x"], "'x' is not a pull request number"),
        (["janitor", "--open-prs", "", "--now", "yesterday"], "'yesterday' is not an ISO 8601 time"),
        (["janitor", "--open-prs", "", "--now", "2026-01-01T00:00:00"], "has no time zone: add +00:00 or Z"),
        (["simulate", "pull_request", "--pr", "3"], "simulate pull_request needs --base"),
        (["simulate", "destroy", "--suffix", "pr3"], "simulate destroy needs --confirm"),
        (["simulate", "close", "--stacks", "nope"], "simulate close needs --pr"),
        (["simulate", "drift", "--stacks", "nope"], "--stacks:"),
        (["simulate", "push", "--branch", "main", "--approve", "qa"], "--approve qa: not an environment"),
        (
            ["simulate", "pull_request", "--pr", "3", "--base", "dev", "--fork", "x"],
            "--fork 'x' is not OWNER/REPO",
        ),
    ],
)
def test_bad_gitops_arguments(isolated, capsys, argv, message):
    if "simulate" in argv:
        assert cli.main(argv) == 2
    else:  # argparse rejects it while parsing
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_a_worktree_must_be_a_checkout_with_a_commit(isolated, capsys, tmp_path):
    """``simulate --worktree``: refused before act or the emulator starts."""
    base = ["simulate", "pull_request", "--pr", "3", "--base", "dev", "--worktree"]
    assert cli.main([*base, str(tmp_path)]) == 2
    assert "no .github/workflows there" in capsys.readouterr().err
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    assert cli.main([*base, str(tmp_path)]) == 2
    assert "not a git work tree with a commit" in capsys.readouterr().err


def test_resolve_by_suffix_and_list_all(isolated, capsys):
    assert cli.main(["resolve", "--suffix", "pr12"]) == 0
    out = gh_outputs(isolated)
    assert (out["environment"], out["suffix"], out["destroy_allowed"]) == ("pr", "pr12", "true")
    (isolated / "github_output").unlink()
    assert cli.main(["list-environments"]) == 0
    assert json.loads(gh_outputs(isolated)["environments"]) == ["dev", "pr", "prod", "staging"]


# -- janitor against S3 (moto) ---------------------------------------------------------


@pytest.fixture
def s3_world(isolated) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def put_state(s3: Any, env_name: str, key: str) -> None:
    env = load_all()[env_name]
    try:
        s3.head_bucket(Bucket=env.state.bucket)
    except s3.exceptions.ClientError:
        params: dict[str, Any] = {"Bucket": env.state.bucket}
        if env.state.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": env.state.region}
        s3.create_bucket(**params)
    s3.put_object(Bucket=env.state.bucket, Key=key, Body=b"{}")


def session_for(suffix: str) -> Session:
    return Session(target=resolve_target("pr", suffix), cloud=AWS, options=SessionOptions(parallelism=1))


def test_janitor_run_decides_destroys_and_reports(s3_world, monkeypatch):
    for key in (
        "pr7/file_processing.tfstate",
        "pr9/file_processing.tfstate",
        "dev/file_processing.tfstate",
        "pr9/notes.txt",
    ):
        put_state(s3_world, "pr", key)
    synthesized, destroyed = [], []

    def fake_synth(target, only=None):
        synthesized.append((target.suffix, only, paths.outdir()))
        return {}

    def fake_destroy(session):
        destroyed.append(session.target.suffix)
        return {}

    monkeypatch.setattr(synth, "synth", fake_synth)
    monkeypatch.setattr(destroy, "destroy", fake_destroy)
    now = janitor.now_utc() + timedelta(minutes=30)
    dry = janitor.run(session_for("pr0"), open_prs={7}, now=now, dry_run=True, session_for=session_for)
    assert "- `pr7` (file_processing): **keep** — PR open, last deployed 0.5 h ago" in dry
    assert "- `pr9` (file_processing): **would destroy** — pull request #9 is not open" in dry
    assert "`dev`" not in dry
    assert destroyed == []
    text = janitor.run(
        session_for("pr0"),
        open_prs=None,
        now=now + timedelta(hours=72, minutes=30),
        dry_run=False,
        session_for=session_for,
        workroot=paths.workdir() / "jan",
    )
    assert "over the 72 h TTL" in text
    assert "- `pr7`: destroyed (last deployed 73.0 h ago, over the 72 h TTL)" in text
    assert destroyed == ["pr7", "pr9"]
    assert [(s, o) for s, o, _ in synthesized] == [("pr7", "file_processing"), ("pr9", "file_processing")]
    assert synthesized[0][2] == paths.workdir() / "jan" / "pr7" / "cdktf.out", "one cdktf.out per env"


def test_janitor_failure_keeps_going_then_fails_with_the_report(s3_world, monkeypatch):
    for key in ("pr3/file_processing.tfstate", "pr4/file_processing.tfstate"):
        put_state(s3_world, "pr", key)
    monkeypatch.setattr(synth, "synth", lambda target, only=None: {})
    destroyed = []

    def fake_destroy(session):
        if session.target.suffix == "pr3":
            raise StageFailed("destroy failed: DependencyViolation")
        destroyed.append(session.target.suffix)
        return {}

    monkeypatch.setattr(destroy, "destroy", fake_destroy)
    with pytest.raises(StageFailed) as err:
        janitor.run(
            session_for("pr0"), open_prs=set(), now=janitor.now_utc(), dry_run=False, session_for=session_for
        )
    assert destroyed == ["pr4"], "one failure does not stop the others"
    message = str(err.value)
    assert message.startswith("janitor could not destroy pr3; see the lines below")
    assert "- `pr3`: FAILED: destroy failed: DependencyViolation" in message
    assert "- `pr4`: destroyed (pull request #4 is not open)" in message


def test_janitor_without_a_bucket_or_template(s3_world):
    text = janitor.run(
        session_for("pr0"), open_prs=set(), now=janitor.now_utc(), dry_run=True, session_for=session_for
    )
    assert (
        text
        == f"### Ephemeral environments\n\nNo ephemeral environments in s3://{load_all()['pr'].state.bucket}.\n"
    )
    dev = Session(target=resolve_target("dev", None), cloud=AWS, options=SessionOptions(parallelism=1))
    with pytest.raises(TapError, match="environment 'dev' is not an ephemeral template"):
        janitor.run(dev, open_prs=set(), now=janitor.now_utc(), dry_run=True, session_for=session_for)


def test_janitor_command_asks_github_for_open_prs(isolated, s3_world, fake_github, monkeypatch, capsys):
    put_state(s3_world, "pr", "pr5/file_processing.tfstate")
    put_state(s3_world, "pr", "pr6/file_processing.tfstate")
    fake_github.routes["/repos/acme/tap/pulls?state=open&per_page=100&page=1"] = (200, [{"number": 6}])
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_x")
    report = isolated / "janitor" / "report.md"
    argv = ["janitor", "--cloud", "aws", "--repository", "acme/tap", "--dry-run", "--report", str(report)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "- `pr5` (file_processing): **would destroy** — pull request #5 is not open" in out
    assert "- `pr6` (file_processing): **keep**" in out
    assert report.read_text() == out
    assert (isolated / "summary.md").read_text().startswith("### Ephemeral environments")
    assert fake_github.seen[0][1] == "Bearer ghs_x"


def test_janitor_command_destroys_for_real(s3_world, isolated, monkeypatch, capsys):
    put_state(s3_world, "pr", "pr8/file_processing.tfstate")
    monkeypatch.setattr(janitor, "preflight", lambda: "terraform")
    monkeypatch.setattr(synth, "synth", lambda target, only=None: {})
    monkeypatch.setattr(destroy, "destroy", lambda session: {})
    assert cli.main(["janitor", "--cloud", "aws", "--open-prs", "1,2"]) == 0
    assert "- `pr8`: destroyed (pull request #8 is not open)" in capsys.readouterr().out
    put_state(s3_world, "pr", "pr8/file_processing.tfstate")
    assert cli.main(["janitor", "--cloud", "aws", "--open-prs", "8", "--now", "2999-01-01T00:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "- `pr8`: destroyed (last deployed " in out
    assert "h ago, over the 72 h TTL)" in out


def test_exactly_one_ephemeral_template():
    envs = load_all()
    with pytest.raises(TapError, match="expected exactly one ephemeral template"):
        promotion.ephemeral_template({k: v for k, v in envs.items() if k != "pr"})


# -- OIDC bootstrap --------------------------------------------------------------------


class RecordingTerraform:
    calls: ClassVar[list[tuple[str, ...]]] = []

    def __init__(self, binary: str, stack_dir: Path, env: Any, log_name: str) -> None:
        self.calls.append(("new", binary, stack_dir.name, log_name))

    def init(self) -> None:
        self.calls.append(("init",))

    def plan(self, plan_file: str) -> bool:
        self.calls.append(("plan", plan_file))
        return True

    def show_json(self, plan_file: str) -> str:
        address = "aws_iam_role.plan"
        return json.dumps({"resource_changes": [{"address": address, "change": {"actions": ["create"]}}]})

    def apply(self, plan_file: str) -> None:
        self.calls.append(("apply", plan_file))


def fake_oidc_synth(*, home, envs, settings, outdir: Path) -> Path:
    """Stands in for ``lib.stacks.github_oidc.synth`` (test_github_oidc synthesizes the real one):
    loading the AWS provider bindings costs minutes of CPU on a busy machine."""
    RecordingTerraform.calls.append(("synth", home.name, settings.repository, str(sorted(envs))))
    stack_dir = outdir / "stacks" / "github-oidc"
    stack_dir.mkdir(parents=True, exist_ok=True)
    return stack_dir


@pytest.fixture
def recording_tf(monkeypatch) -> type[RecordingTerraform]:
    RecordingTerraform.calls = []
    monkeypatch.setitem(sys.modules, "lib.stacks.github_oidc", SimpleNamespace(synth=fake_oidc_synth))
    monkeypatch.setattr(bootstrap_oidc, "Terraform", RecordingTerraform)
    monkeypatch.setattr(bootstrap_oidc, "find_binary", lambda: "/bin/terraform")
    monkeypatch.setattr(bootstrap_oidc, "check_version", lambda binary: None)
    return RecordingTerraform


def test_bootstrap_oidc_command_plans_then_applies(isolated, recording_tf, monkeypatch, capsys):
    monkeypatch.setattr(bootstrap_oidc, "preflight", lambda: "/bin/terraform")
    argv = ["bootstrap-oidc", "-e", "prod", "--cloud", "aws", "--repository", "acme/tap"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    account = load_all()["prod"].account_id
    assert f"plan: arn:aws:iam::{account}:role/tap-prod-plan" in out
    assert f"apply: arn:aws:iam::{account}:role/tap-prod-apply <- repo:acme/tap:environment:prod" in out
    assert "plan: +1 ~0 -0 ±0" in out
    assert "not applied: re-run with --apply" in out
    assert ("apply", "tfplan") not in recording_tf.calls
    assert recording_tf.calls[:2] == [
        ("synth", "prod", "acme/tap", "['dev', 'pr', 'prod', 'staging']"),
        ("new", "/bin/terraform", "github-oidc", f"bootstrap-oidc.{account}"),
    ]
    assert cli.main([*argv, "--apply", "--existing-provider"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("applied")
    assert recording_tf.calls[-1] == ("apply", "tfplan")


def test_bootstrap_oidc_refuses_bad_input(isolated, recording_tf, monkeypatch, capsys):
    monkeypatch.setattr(bootstrap_oidc, "preflight", lambda: "/bin/terraform")
    argv = ["bootstrap-oidc", "-e", "prod", "--cloud", "aws", "--repository"]
    assert cli.main([*argv, "acme/*"]) == 2
    assert "is not OWNER/REPO" in capsys.readouterr().err
    assert recording_tf.calls == [], "nothing planned"


def test_bootstrap_oidc_on_the_emulator_creates_the_state_bucket(isolated, recording_tf, monkeypatch):
    seen = []
    monkeypatch.setattr(state, "bootstrap", lambda session: seen.append(session.target.env.name) or "ok")
    from lib.config.settings.github_oidc import GithubOidcSettings

    session = Session(
        target=resolve_target("dev", None), cloud=Cloud("emulator", {}), options=SessionOptions(parallelism=1)
    )
    result = bootstrap_oidc.run(
        session, settings=GithubOidcSettings(repository="acme/tap"), apply=True, outdir=isolated / "b"
    )
    assert seen == ["dev"]
    assert result.applied
    assert result.plan.add == 1
    assert result.stack_dir == isolated / "b" / "stacks" / "github-oidc"
    assert any("repo:acme/tap:environment:dev" in r for r in result.roles)
    assert any("repo:acme/tap:pull_request" in r for r in result.roles)
