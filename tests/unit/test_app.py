"""Every synthesized stack: provider guard, backend, tags, and nothing that ties
the JSON to one cloud (lib/app.py, lib/stacks/base.py)."""

from __future__ import annotations

import json

import pytest

from lib.config import load_environment

ENVS = ["dev", "staging", "prod", "pr"]


@pytest.mark.parametrize("env_name", ENVS)
def test_every_stack_has_guarded_provider_and_locked_encrypted_backend(synth, env_name):
    env = load_environment(env_name)
    suffix = "pr7" if env_name == "pr" else env_name
    stacks = synth(env_name)
    assert sorted(stacks) == sorted(env.stacks)
    for name, stack in stacks.items():
        backend = stack["terraform"]["backend"]["s3"]
        assert backend == {
            "bucket": env.state.bucket,
            "key": f"{suffix}/{name}.tfstate",
            "region": env.state.region,
            "encrypt": True,
            "use_lockfile": True,
        }
        assert stack["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"
        (provider,) = stack["provider"]["aws"]
        assert provider["allowed_account_ids"] == [env.account_id]
        assert provider["region"] == env.region_for(name)
        tags = provider["default_tags"][0]["tags"]
        assert tags["Environment"] == env_name
        assert tags["EnvironmentSuffix"] == suffix
        assert tags["Stack"] == name
        assert tags["Repository"] == env.repository == "acme/tap"
        assert tags["CostCenter"] == "platform"
        assert not {"Author", "PRNumber", "Commit"} & set(tags), "no CI context in tags"


@pytest.mark.parametrize("env_name", ENVS)
def test_json_is_cloud_neutral_and_secret_free(synth, env_name):
    for name, stack in synth(env_name).items():
        (provider,) = stack["provider"]["aws"]
        for key in (
            "endpoints",
            "access_key",
            "secret_key",
            "token",
            "profile",
            "skip_credentials_validation",
        ):
            assert key not in provider, f"{name}: provider sets {key}"
        text = json.dumps(stack)
        for marker in ("127.0.0.1", "localhost", "AKIA", "moto", "BEGIN RSA PRIVATE KEY"):
            assert marker not in text, f"{name}: {marker!r} in synthesized JSON"
        assert "endpoint" not in stack["terraform"]["backend"]["s3"]


def test_main_reads_the_environment(tmp_path):
    from lib.app import main

    out = main(
        {
            "ENVIRONMENT": "pr",
            "ENVIRONMENT_SUFFIX": "pr9",
            "CDKTF_OUTDIR": str(tmp_path),
            "REPOSITORY": "org/repo",
            "TAP_STACKS": load_environment("pr").stacks[0],
        }
    )
    meta = json.loads((out / "tap-synth.json").read_text())
    assert meta["environment"] == "pr"
    assert meta["suffix"] == "pr9"
    assert list(meta["stacks"]) == [load_environment("pr").stacks[0]]
    assert meta["state"]["bucket"] == load_environment("pr").state.bucket


def test_every_stack_gets_the_settings_model_the_registry_names():
    from lib.config import load_all
    from lib.stacks import STACKS

    for env in load_all().values():
        for name in env.stacks:
            assert type(env.settings_for(name)) is STACKS[name].settings, (env.name, name)


def test_a_stack_is_given_its_own_settings_and_where_it_deploys():
    from lib.config import resolve_target
    from lib.config.settings.transaction_pipeline import TransactionPipelineSettings
    from lib.stacks.context import StackContext

    target = resolve_target("prod", None)
    ctx = StackContext.of(target, "transaction_pipeline", depends_on=("transaction_images",))
    assert isinstance(ctx.settings, TransactionPipelineSettings)
    assert ctx.settings is target.env.settings_for("transaction_pipeline")
    assert (ctx.region, ctx.account_id, ctx.suffix) == ("us-east-1", target.env.account_id, "prod")
    assert ctx.destroy_allowed is False
    assert ctx.dependency_regions == {"transaction_images": target.env.region_for("transaction_images")}
    assert ctx.state_key == "prod/transaction_pipeline.tfstate"
    assert ctx.tags["Stack"] == "transaction_pipeline"
    assert ctx.namer.name("txn") == "prod-use1-txn-prod"


def test_context_refuses_settings_of_a_model_not_wired_to_the_stack():
    from lib.config import Target, resolve_target
    from lib.stacks.context import StackContext

    target = resolve_target("dev", None)
    swapped = {**target.env.settings, "iot_pipeline": target.env.settings["platform"]}
    env = target.env.model_copy(update={"settings": swapped})
    with pytest.raises(TypeError, match="iot_pipeline needs IotPipelineSettings, got PlatformSettings"):
        StackContext.of(Target(env=env, suffix="dev"), "iot_pipeline")
