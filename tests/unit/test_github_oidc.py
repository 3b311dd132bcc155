"""The OIDC bootstrap as data: audience, one subject per environment, no wildcards,
apply roles only for GitHub environments; and the stack that builds it synthesizes."""

from __future__ import annotations

import json

import pytest

from lib.config import load_all
from lib.config.settings.github_oidc import (
    APIGW_LOGS_POLICY,
    AUDIENCE,
    GITHUB_OIDC_HOST,
    GithubOidcSettings,
    OidcConfigError,
    apigateway_regions,
    ci_roles,
    iam_policy,
    state_policy,
    trust_policy,
)

REPO = "acme/tap"
SETTINGS = GithubOidcSettings(repository=REPO)
PROVIDER = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"


def roles_by_arn(account: str) -> dict:
    return {r.arn: r for r in ci_roles(load_all(), account, SETTINGS)}


def accounts() -> list[str]:
    return sorted({e.account_id for e in load_all().values()})


@pytest.mark.parametrize("account", accounts())
def test_every_role_trusts_github_with_our_audience_and_exact_subjects(account):
    for role in roles_by_arn(account).values():
        statement = trust_policy(role, PROVIDER)["Statement"]
        assert len(statement) == 1
        st = statement[0]
        assert st["Principal"] == {"Federated": PROVIDER}
        assert st["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert set(st["Condition"]) == {"StringEquals"}, "exact matches only, never StringLike"
        cond = st["Condition"]["StringEquals"]
        assert cond[f"{GITHUB_OIDC_HOST}:aud"] == AUDIENCE == "sts.amazonaws.com"
        subs = cond[f"{GITHUB_OIDC_HOST}:sub"]
        assert subs
        assert all(s.startswith(f"repo:{REPO}:") for s in subs)
        assert not any("*" in s or "?" in s for s in subs)


def test_apply_roles_trust_only_their_github_environment():
    envs = load_all()
    for account in accounts():
        for role in roles_by_arn(account).values():
            if role.kind != "apply":
                continue
            assert role.subjects == tuple(f"repo:{REPO}:environment:{name}" for name in role.environments)
            for name in role.environments:
                assert envs[name].ci_roles.apply == role.arn


def test_plan_roles_per_environment():
    envs = load_all()
    dev = roles_by_arn(envs["dev"].account_id)[envs["dev"].ci_roles.plan]
    assert dev.kind == "plan"
    assert f"repo:{REPO}:pull_request" in dev.subjects
    assert f"repo:{REPO}:ref:refs/heads/dev" in dev.subjects, "the deploy workflow's plan job"
    assert f"repo:{REPO}:ref:refs/heads/main" in dev.subjects, "scheduled drift runs on main"
    assert not any(":environment:" in s for s in dev.subjects)
    prod = roles_by_arn(envs["prod"].account_id)[envs["prod"].ci_roles.plan]
    assert prod.subjects == (f"repo:{REPO}:pull_request", f"repo:{REPO}:ref:refs/heads/main")


def test_the_dev_account_holds_dev_and_pr_roles():
    envs = load_all()
    roles = roles_by_arn(envs["dev"].account_id)
    assert set(roles) == {envs["dev"].ci_roles.plan, envs["dev"].ci_roles.apply, envs["pr"].ci_roles.apply}
    pr_apply = roles[envs["pr"].ci_roles.apply]
    assert pr_apply.subjects == (f"repo:{REPO}:environment:pr",)
    assert pr_apply.state_prefixes == ("pr*",)


def test_state_and_iam_policies_are_scoped():
    envs = load_all()
    roles = roles_by_arn(envs["staging"].account_id)
    apply = roles[envs["staging"].ci_roles.apply]
    plan = roles[envs["staging"].ci_roles.plan]
    bucket = f"arn:aws:s3:::{envs['staging'].state.bucket}"
    apply_state = {s["Sid"]: s for s in state_policy(apply)["Statement"]}
    assert apply_state["WriteState"]["Resource"] == [f"{bucket}/staging/*"]
    plan_state = {s["Sid"]: s for s in state_policy(plan)["Statement"]}
    assert "WriteState" not in plan_state
    assert plan_state["LockState"]["Resource"] == [f"{bucket}/staging/*.tflock"]
    iam = iam_policy(apply, envs)["Statement"][0]
    assert iam["Resource"] == [
        f"arn:aws:iam::{envs['staging'].account_id}:role/staging-*",
        f"arn:aws:iam::{envs['staging'].account_id}:policy/staging-*",
    ]
    assert not any("*" in action for action in iam["Action"]), "no wildcard actions"
    assert iam_policy(plan, envs) is None


def test_a_role_both_plan_and_apply_is_refused():
    envs = load_all()
    dev = envs["dev"]
    bad = dev.model_copy(update={"ci_roles": dev.ci_roles.model_copy(update={"apply": dev.ci_roles.plan})})
    with pytest.raises(OidcConfigError, match="is both a plan and an apply role"):
        ci_roles({**envs, "dev": bad}, dev.account_id, SETTINGS)


def test_a_role_in_another_account_is_refused():
    envs = load_all()
    dev = envs["dev"]
    arn = "arn:aws:iam::999999999999:role/x"
    bad = dev.model_copy(update={"ci_roles": dev.ci_roles.model_copy(update={"apply": arn})})
    with pytest.raises(OidcConfigError, match="is in account 999999999999, not the environment's account"):
        ci_roles({**envs, "dev": bad}, dev.account_id, SETTINGS)


def test_settings_validate_the_repository():
    with pytest.raises(ValueError, match="repository"):
        GithubOidcSettings(repository="acme/tap/*")


def test_the_bootstrap_stack_synthesizes(tmp_path):
    from lib.stacks.github_oidc import STACK_NAME, synth

    envs = load_all()
    stack_dir = synth(home=envs["prod"], envs=envs, settings=SETTINGS, outdir=tmp_path)
    assert stack_dir.name == STACK_NAME
    doc = json.loads((stack_dir / "cdk.tf.json").read_text())
    assert doc["terraform"]["backend"]["s3"]["key"] == "bootstrap/github-oidc.tfstate"
    assert doc["terraform"]["backend"]["s3"]["use_lockfile"] is True
    provider = next(iter(doc["resource"]["aws_iam_openid_connect_provider"].values()))
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    roles = {r["name"]: r for r in doc["resource"]["aws_iam_role"].values()}
    assert set(roles) == {"tap-prod-plan", "tap-prod-apply", "tap-apigw-cloudwatch"}
    trust = json.loads(roles["tap-prod-apply"]["assume_role_policy"])
    cond = trust["Statement"][0]["Condition"]["StringEquals"]
    assert cond[f"{GITHUB_OIDC_HOST}:sub"] == [f"repo:{REPO}:environment:prod"]
    assert trust["Statement"][0]["Principal"]["Federated"] == "${aws_iam_openid_connect_provider.github.arn}"
    attached = {
        a["role"]: a["policy_arn"] for a in doc["resource"]["aws_iam_role_policy_attachment"].values()
    }
    assert set(attached.values()) == {
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "arn:aws:iam::aws:policy/PowerUserAccess",
        APIGW_LOGS_POLICY,
    }
    assert doc["provider"]["aws"][0]["allowed_account_ids"] == [envs["prod"].account_id]


def test_apigateway_logging_role_is_set_in_every_region_the_account_deploys_to(tmp_path):
    """A REST API stage with logging fails on real AWS until the region's API Gateway
    account setting names a CloudWatch role: the bootstrap sets it in each region."""
    from lib.stacks.github_oidc import synth

    envs = load_all()
    dev = envs["dev"]
    regions = apigateway_regions(envs, dev.account_id)
    assert regions == sorted({dev.region_for(s) for e in (dev, envs["pr"]) for s in e.stacks})
    assert {"us-east-1", "us-east-2"} <= set(regions), "data_pipeline deploys to us-east-2"

    doc = json.loads(
        (synth(home=dev, envs=envs, settings=SETTINGS, outdir=tmp_path) / "cdk.tf.json").read_text()
    )
    role = doc["resource"]["aws_iam_role"]["apigw-cloudwatch"]
    assert role["name"] == "tap-apigw-cloudwatch"
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert [(t["Principal"], t["Action"]) for t in trust] == [
        ({"Service": "apigateway.amazonaws.com"}, "sts:AssumeRole")
    ]
    assert doc["resource"]["aws_iam_role_policy_attachment"]["apigw-cloudwatch-logs"]["policy_arn"] == (
        APIGW_LOGS_POLICY
    )
    settings = doc["resource"]["aws_api_gateway_account"]
    assert sorted(settings) == [f"apigw-account-{r}" for r in regions]
    providers = {p.get("alias"): p for p in doc["provider"]["aws"]}
    assert providers[None]["region"] == dev.region
    for region in regions:
        account = settings[f"apigw-account-{region}"]
        assert account["cloudwatch_role_arn"] == "${aws_iam_role.apigw-cloudwatch.arn}"
        assert account["depends_on"] == ["aws_iam_role_policy_attachment.apigw-cloudwatch-logs"]
        if region == dev.region:
            assert "provider" not in account
        else:
            alias = region.replace("-", "_")
            assert account["provider"] == f"aws.{alias}"
            assert providers[alias]["region"] == region
            assert providers[alias]["allowed_account_ids"] == [dev.account_id]
