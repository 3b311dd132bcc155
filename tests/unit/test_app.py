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


def test_settings_as_refuses_a_model_not_wired_to_the_stack():
    from lib.config import resolve_target
    from lib.config.settings.iot_pipeline import IotPipelineSettings
    from lib.config.settings.platform import PlatformSettings
    from lib.stacks.base import StackContext

    ctx = StackContext(target=resolve_target("dev", None), stack="iot_pipeline")
    assert isinstance(ctx.settings_as(IotPipelineSettings), IotPipelineSettings)
    with pytest.raises(TypeError, match="iot_pipeline needs PlatformSettings, got IotPipelineSettings"):
        ctx.settings_as(PlatformSettings)
