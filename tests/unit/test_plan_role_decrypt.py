"""Plan roles may decrypt exactly the SecureStrings a plan refreshes (issue 11).

The AWS provider refreshes ``aws_ssm_parameter`` with ``GetParameter(WithDecryption=true)``
(``resourceParameterRead`` -> ``findParameterByName(..., true)``), so planning iot_pipeline,
whose API-key SecureString is encrypted with the stack's own KMS key, needs ``kms:Decrypt``
on that key: ``ReadOnlyAccess`` has none. The grant is that one action, through SSM only,
for the stack key's alias only, for those parameters only."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest

from lib.config import load_all
from lib.config.settings.github_oidc import SECURE_PARAMETERS, GithubOidcSettings, ci_roles, decrypt_policy
from tests.unit.conftest import resources

SETTINGS = GithubOidcSettings(repository="acme/tap")


def _roles(kind: str) -> list:
    envs = load_all()
    accounts = sorted({e.account_id for e in envs.values()})
    return [r for a in accounts for r in ci_roles(envs, a, SETTINGS) if r.kind == kind]


def _statement(arn: str) -> dict:
    role = next(r for r in _roles("plan") if r.arn == arn)
    policy = decrypt_policy(role, load_all())
    assert policy is not None
    (statement,) = policy["Statement"]
    return statement


def test_dev_plan_role_decrypts_only_through_ssm_with_the_iot_keys():
    st = _statement("arn:aws:iam::111111111111:role/tap-dev-plan")  # dev and the pr template share it
    assert st["Effect"] == "Allow"
    assert st["Action"] == "kms:Decrypt", "exactly one action"
    assert st["Resource"] == ["arn:aws:kms:us-east-1:111111111111:key/*"]
    assert st["Condition"] == {
        "StringEquals": {"kms:ViaService": ["ssm.us-east-1.amazonaws.com"]},
        "ForAnyValue:StringLike": {
            "kms:ResourceAliases": ["alias/dev-use1-iot-dev", "alias/pr-use1-iot-pr*"]
        },
        "StringLike": {
            "kms:EncryptionContext:PARAMETER_ARN": [
                "arn:aws:ssm:us-east-1:111111111111:parameter/tap/dev/iot-pipeline/*",
                "arn:aws:ssm:us-east-1:111111111111:parameter/tap/pr*/iot-pipeline/*",
            ]
        },
    }


@pytest.mark.parametrize(("env", "account"), [("staging", "222222222222"), ("prod", "333333333333")])
def test_each_long_lived_plan_role_gets_its_own_key_only(env, account):
    st = _statement(f"arn:aws:iam::{account}:role/tap-{env}-plan")
    assert st["Condition"]["ForAnyValue:StringLike"]["kms:ResourceAliases"] == [f"alias/{env}-use1-iot-{env}"]
    assert st["Condition"]["StringLike"]["kms:EncryptionContext:PARAMETER_ARN"] == [
        f"arn:aws:ssm:us-east-1:{account}:parameter/tap/{env}/iot-pipeline/*"
    ]


def test_apply_roles_get_no_extra_decrypt_policy():
    assert all(decrypt_policy(role, load_all()) is None for role in _roles("apply"))


@pytest.mark.parametrize(("env", "suffix"), [("dev", "dev"), ("pr", "pr7")])
def test_the_grant_covers_what_the_synthesized_stack_encrypts(synth, env, suffix):
    """The policy's patterns match the real stack: every SecureString's name and its key's alias."""
    stack = synth(env)["iot_pipeline"]
    role = next(r for r in _roles("plan") if env in r.environments)
    st = decrypt_policy(role, load_all())["Statement"][0]
    aliases = {a["name"]: a for a in resources(stack, "aws_kms_alias").values()}
    secure = [p for p in resources(stack, "aws_ssm_parameter").values() if p["type"] == "SecureString"]
    assert secure, "iot_pipeline keeps its API key in a SecureString"
    assert "iot_pipeline" in SECURE_PARAMETERS
    for parameter in secure:
        arn = f"arn:aws:ssm:us-east-1:{role.account_id}:parameter{parameter['name']}"
        assert any(
            fnmatchcase(arn, p) for p in st["Condition"]["StringLike"]["kms:EncryptionContext:PARAMETER_ARN"]
        )
        key_ref = parameter["key_id"].removeprefix("${").removesuffix(".arn}")
        (alias,) = [a for a in aliases.values() if a["target_key_id"] == "${" + key_ref + ".key_id}"]
        assert any(
            fnmatchcase(alias["name"], p)
            for p in st["Condition"]["ForAnyValue:StringLike"]["kms:ResourceAliases"]
        )
    # no other stack of the environment holds a SecureString the grant would miss
    for name, other in synth(env).items():
        if name not in SECURE_PARAMETERS:
            assert all(p["type"] != "SecureString" for p in resources(other, "aws_ssm_parameter").values()), (
                name
            )


def test_the_bootstrap_stack_attaches_the_decrypt_policy_to_plan_roles_only(tmp_path):
    from lib.stacks.github_oidc import synth

    envs = load_all()
    doc = json.loads(
        (synth(home=envs["dev"], envs=envs, settings=SETTINGS, outdir=tmp_path) / "cdk.tf.json").read_text()
    )
    inline = [p for p in doc["resource"]["aws_iam_role_policy"].values() if p["name"] == "secure-parameters"]
    assert len(inline) == 1
    assert inline[0]["role"] == "${aws_iam_role.role-tap-dev-plan.id}"
    (statement,) = json.loads(inline[0]["policy"])["Statement"]
    assert statement["Action"] == "kms:Decrypt"
