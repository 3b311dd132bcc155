"""Each workflow event simulated end to end on the embedded AWS, sharing one emulator:
pull_request -> janitor -> push (gated prod) -> drift -> close -> destroy dispatch.
Plus the OIDC bootstrap applied to the emulator."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import boto3
import pytest

from lib.config import load_all
from scripts.tapctl import emulator
from tests.e2e.conftest import E2E_STACKS

pytestmark = pytest.mark.emulator

#: The stacks every simulated event deploys: the one constant to change (or $TAP_SIMULATE_STACKS).
SIMULATE_STACKS = os.environ.get("TAP_SIMULATE_STACKS", E2E_STACKS)


def state_keys(ws, env_name: str) -> list[str]:
    env = load_all()[env_name]
    resp = ws.s3(env.account_id).list_objects_v2(Bucket=env.state.bucket)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def simulate(ws, timings: dict[str, float], label: str, *argv: str) -> int:
    t0 = time.monotonic()
    code = ws.tap_cli("simulate", *argv, "--stacks", SIMULATE_STACKS, "--out", str(ws.root / "sim"))
    timings[label] = round(time.monotonic() - t0, 1)
    return code


def test_every_event_end_to_end_on_one_emulator(workspace, capsys):
    ws = workspace
    sim = ws.root / "sim"
    stacks = SIMULATE_STACKS.split(",")
    timings: dict[str, float] = {}
    assert ws.tap_cli("emulator", "start") == 0
    pid = emulator.running().pid

    # -- pull_request: baseline dev deployed first, plan against it, pr7 deployed and tested
    code = simulate(
        ws, timings, "pull_request", "pull_request", "--pr", "7", "--base", "dev", "--head", "feature/x"
    )
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    assert state_keys(ws, "dev") == sorted(
        [f"dev/{s}.tfstate" for s in stacks] + [f"pr7/{s}.tfstate" for s in stacks]
    ), "dev and pr7 share the dev account's state bucket"
    comment = (sim / "comment-dev.md").read_text()
    assert comment.startswith("<!-- tap-plan:dev -->\n### Terraform plan · `dev`")
    assert "**No changes.**" in comment, "the PR changes no code: the plan against dev is empty"
    assert "#### Ephemeral environment `pr7`" in comment
    assert "| deploy | ✅ success |" in comment
    assert "| integration tests | ✅ success |" in comment
    summary = (sim / "step-summary-pull_request.md").read_text()
    assert "**Promotion check:**" in summary
    assert summary.count("<!-- tap-plan:dev -->") == 2, "plan summary, then the report"
    flat = json.loads((sim / "work" / "pr7" / "cfn-outputs" / "flat-outputs.json").read_text())
    assert flat, "the outputs artifact holds the stacks' outputs"
    jobs = json.loads((sim / "timings-pull_request.json").read_text())
    assert [j["job"] for j in jobs] == [
        "context", "promotion", "lint", "unit", "synth", "plan", "comment", "deploy", "integration", "report",
    ]  # fmt: skip
    assert all(j["status"] == "ok" or j["status"].startswith("skipped locally") for j in jobs)

    # -- a PR into main from a feature branch: refused by the promotion check (the rest still runs)
    # (not simulated in full here: the unit tests cover the rule; this keeps the run short)

    # -- janitor: pr7's PR is open and fresh, so it stays
    assert simulate(ws, timings, "janitor (keep)", "janitor", "--open-prs", "7") == 0
    report = (sim / "janitor.md").read_text()
    assert f"`pr7` ({', '.join(sorted(stacks))}): **keep**" in report
    assert all(f"pr7/{s}.tfstate" in state_keys(ws, "dev") for s in stacks)
    # The CLI command the janitor workflow runs: decisions only (--dry-run).
    capsys.readouterr()
    assert ws.tap_cli("janitor", "--open-prs", "", "--dry-run") == 0
    assert "`pr7`" in capsys.readouterr().out
    assert ws.tap_cli("janitor", "--open-prs", "7", "--now", "2999-01-01T00:00:00+00:00", "--dry-run") == 0
    decided = capsys.readouterr().out
    assert "**would destroy**" in decided
    assert "over the 72 h TTL" in decided
    assert all(f"pr7/{s}.tfstate" in state_keys(ws, "dev") for s in stacks), "a dry run destroys nothing"

    # -- push to main: prod, behind the approval gate
    code = simulate(ws, timings, "push", "push", "--branch", "main")
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    assert state_keys(ws, "prod") == [f"prod/{s}.tfstate" for s in stacks]
    push_summary = (sim / "step-summary-push.md").read_text()
    assert "approval gate: environment `prod` requires approval" in push_summary
    assert "### Deploy plan · `prod`" in push_summary
    assert "| apply, outputs and integration tests | ✅ success |" in push_summary
    assert "**Integration tests `prod`:**" in push_summary
    assert (sim / "plans.sealed").read_bytes().startswith(b"TAPSEAL1"), "prod's plans crossed jobs sealed"

    # -- drift: none, then a tag changed behind Terraform's back is found
    assert simulate(ws, timings, "drift (clean)", "drift", "--env", "prod") == 0
    meta = json.loads((sim / "drift-prod.json").read_text())
    assert meta["open_issue"] is False
    bucket = flat_outputs_bucket(sim / "work" / "prod" / "cfn-outputs" / "flat-outputs.json")
    assert bucket, f"drift is shown on a bucket: {SIMULATE_STACKS} must output a *BucketName"
    s3 = ws.s3(load_all()["prod"].account_id)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "Environment", "Value": "tampered"}]})
    assert simulate(ws, timings, "drift (drifted)", "drift", "--env", "prod") == 0
    meta = json.loads((sim / "drift-prod.json").read_text())
    assert meta["open_issue"] is True
    assert meta["title"] == "Drift detected in prod"
    issue = (sim / "drift-prod.md").read_text()
    assert issue.startswith("<!-- tap-drift:prod -->\n### Drift detected · `prod`")

    # -- PR closed: pr7 and its state are gone, dev stays
    assert simulate(ws, timings, "close", "close", "--pr", "7") == 0
    assert state_keys(ws, "dev") == [f"dev/{s}.tfstate" for s in stacks]

    # -- destroy dispatch: protected prod refused before anything runs; dev destroyed when confirmed
    assert (
        simulate(ws, timings, "destroy (prod refused)", "destroy", "--suffix", "prod", "--confirm", "prod")
        == 1
    )
    assert "environment 'prod' is protected" in capsys.readouterr().err
    assert state_keys(ws, "prod") == [f"prod/{s}.tfstate" for s in stacks]
    assert simulate(ws, timings, "destroy (dev)", "destroy", "--suffix", "dev", "--confirm", "dev") == 0
    assert state_keys(ws, "dev") == []

    assert emulator.running().pid == pid, "one emulator served every event"
    assert ws.tap_cli("emulator", "stop") == 0
    (ws.root / "timings.json").write_text(json.dumps(timings, indent=2))
    print("\nsimulated event timings (s):", json.dumps(timings))


def flat_outputs_bucket(path: Path) -> str | None:
    flat = json.loads(path.read_text())
    return next((v for k, v in flat.items() if k.endswith("BucketName") and isinstance(v, str)), None)


def test_simulate_starts_and_stops_its_own_emulator_and_refuses_bad_input(workspace, capsys):
    ws = workspace
    assert ws.tap_cli("simulate", "push", "--stacks", SIMULATE_STACKS) == 2
    assert "simulate push needs --branch" in capsys.readouterr().err
    assert ws.tap_cli("simulate", "pull_request", "--pr", "3", "--base", "dev", "--cloud", "aws") == 2
    assert "embedded AWS only" in capsys.readouterr().err
    code = ws.tap_cli(
        "simulate", "close", "--pr", "3", "--stacks", SIMULATE_STACKS, "--out", str(ws.root / "s")
    )
    assert code == 0, "closing a PR that was never deployed is a no-op"
    assert emulator.load_state() is None, "the emulator it started is stopped"


def test_bootstrap_oidc_applies_on_the_emulator(workspace, capsys):
    ws = workspace
    assert ws.tap_cli("emulator", "start") == 0
    code = ws.tap_cli("bootstrap-oidc", "-e", "dev", "--repository", "acme/tap", "--apply")
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    assert "applied" in out.out
    envs = load_all()
    state = emulator.running()
    creds = emulator.credentials_for(state, envs["dev"].account_id)
    iam = boto3.client(
        "iam",
        endpoint_url=state.url,
        region_name="us-east-1",
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
    )
    role = iam.get_role(RoleName=envs["pr"].ci_roles.apply.split("/")[-1])["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    cond = trust["Statement"][0]["Condition"]["StringEquals"]
    assert cond["token.actions.githubusercontent.com:sub"] == ["repo:acme/tap:environment:pr"]
    assert cond["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert any(p["Arn"].endswith("oidc-provider/token.actions.githubusercontent.com") for p in providers)
    # API Gateway's CloudWatch role is set in every region the account deploys to.
    logs_role = iam.get_role(RoleName="tap-apigw-cloudwatch")["Role"]["Arn"]
    for region in ("us-east-1", "us-east-2"):
        apigw = boto3.client(
            "apigateway",
            endpoint_url=state.url,
            region_name=region,
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        )
        assert apigw.get_account()["cloudwatchRoleArn"] == logs_role, region
    # A second run changes nothing.
    assert ws.tap_cli("bootstrap-oidc", "-e", "dev", "--repository", "acme/tap") == 0
    assert "plan: +0 ~0 -0 ±0" in capsys.readouterr().out
    assert ws.tap_cli("emulator", "stop") == 0
