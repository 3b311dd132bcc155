"""The per-account OIDC bootstrap (`scripts/tap bootstrap-oidc`) applied to the embedded AWS:
the roles the workflows assume, their trust, and API Gateway's CloudWatch role."""

from __future__ import annotations

import json

import boto3
import pytest

from lib.config import load_all
from scripts.tapctl.core import emulator_process

pytestmark = pytest.mark.emulator


def test_bootstrap_oidc_applies_on_the_emulator(workspace, capsys):
    ws = workspace
    assert ws.tap_cli("emulator", "start") == 0
    code = ws.tap_cli("bootstrap-oidc", "-e", "dev", "--repository", "acme/tap", "--apply")
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    assert "applied" in out.out
    envs = load_all()
    state = emulator_process.running()
    creds = emulator_process.credentials_for(state, envs["dev"].account_id)
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
