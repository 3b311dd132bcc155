"""Loading environments/*.yaml: valid files and every kind of invalid one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from lib.config import (
    EnvironmentConfigError,
    UnknownEnvironmentError,
    known_environments,
    load_all,
    load_environment,
    resolve_target,
)
from lib.config.settings import StackSettings
from lib.config.types import Cidr
from lib.naming import SuffixError
from lib.stacks import STACKS, StackEntry

REPO_ENVS = Path(__file__).resolve().parents[2] / "environments"


class NetSettings(StackSettings):
    vpc_cidr: Cidr = "10.50.0.0/16"


@pytest.fixture
def envdir(tmp_path, monkeypatch):
    """A copy of the real environments/ to break one file at a time."""
    monkeypatch.setitem(STACKS, "net", StackEntry(NetSettings, "tests.unit.test_config:NoStackClass"))
    target = tmp_path / "environments"
    shutil.copytree(REPO_ENVS, target)
    return target


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _deep_merge(base: object, extra: object) -> object:
    if isinstance(base, dict) and isinstance(extra, dict):
        return {**base, **{k: _deep_merge(base.get(k), v) for k, v in extra.items()}}
    return extra


def amend(path: Path, text: str) -> None:
    """Merge the YAML ``text`` into the file, as an author editing it would (a key is not given twice)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    write(path, yaml.safe_dump(_deep_merge(data, yaml.safe_load(text)), sort_keys=False))


def net(**settings: str) -> str:
    """YAML that deploys only the test's ``net`` stack, with these settings."""
    return yaml.safe_dump({"stacks": ["net"], "settings": {"net": settings}})


def refusal(envdir: Path, match: str | None = None) -> EnvironmentConfigError:
    """The error loading ``envdir`` fails with."""
    with pytest.raises(EnvironmentConfigError, match=match) as err:
        load_all(envdir)
    return err.value


def test_repository_environments_load():
    envs = load_all()
    assert set(envs) == {"dev", "staging", "prod", "pr"}
    assert envs["dev"].branch == "dev"
    assert envs["staging"].branch == "staging"
    assert envs["prod"].branch == "main"
    assert envs["pr"].branch is None
    assert envs["pr"].ephemeral is not None
    assert envs["pr"].ephemeral.ttl_hours > 0
    assert envs["staging"].promote_from == ["dev"]
    assert envs["prod"].promote_from == ["staging"]
    assert not envs["prod"].protection.destroy_allowed
    assert envs["prod"].protection.approval_required
    assert not envs["staging"].protection.destroy_allowed
    assert envs["dev"].protection.destroy_allowed
    for env in envs.values():
        assert env.stacks, env.name
        assert env.state.bucket
        assert env.ci_roles.apply.startswith(f"arn:aws:iam::{env.account_id}:role/")
        assert set(env.settings) >= set(env.stacks)


def test_defaults_merge_and_env_overrides(envdir):
    write(envdir / "defaults.yaml", (envdir / "defaults.yaml").read_text() + "\n")
    env = load_all(envdir)["dev"]
    assert env.tags["CostCenter"] == "platform"  # from defaults.yaml
    assert env.tags["Environment"] == "dev"  # from dev.yaml, merged key by key


def test_unknown_environment_lists_known():
    with pytest.raises(UnknownEnvironmentError) as err:
        load_environment("qa")
    assert str(err.value) == "unknown environment 'qa'; known environments: dev, pr, prod, staging"


def test_known_environments_excludes_defaults():
    assert known_environments() == ["dev", "pr", "prod", "staging"]


@pytest.mark.parametrize(
    ("file", "append", "key", "reason"),
    [
        ("dev.yaml", "region: 42\n", "region", "string"),
        ("dev.yaml", "colour: blue\n", "colour", "unknown key"),
        ("dev.yaml", "region: mars-east-1\n", "region", "unknown AWS region 'mars-east-1'"),
        ("dev.yaml", 'account_id: "12345"\n', "account_id", "String should match pattern"),
        ("dev.yaml", "account_id: 111111111111\n", "account_id", "string"),
        ("dev.yaml", "stacks: [nope]\n", "stacks", "unknown stack(s) nope"),
        ("dev.yaml", "stacks: []\n", "stacks", "at least 1 item"),
        ("dev.yaml", "protection: {destroy_allowed: yes-please}\n", "protection.destroy_allowed", "boolean"),
        ("dev.yaml", "name: other\n", "name", "taken from the file name"),
        ("dev.yaml", "settings:\n  nope: {}\n", "settings", "settings for unknown stack 'nope'"),
        ("dev.yaml", net(vpc_cidr="10.0.0.0/33"), "settings.net.vpc_cidr", "is not a valid IPv4 CIDR block"),
        ("dev.yaml", net(vpc_cidr="10.0.0.1/16"), "settings.net.vpc_cidr", "host bits set"),
        ("dev.yaml", net(vpc_cidr="10.0.0.0/8"), "settings.net.vpc_cidr", "between /16 and /24"),
        ("dev.yaml", "tags: {'aws:owner': x}\n", "tags", "breaks AWS tag rules"),
        ("dev.yaml", "state: {bucket: Bad_Bucket, region: us-east-1}\n", "state.bucket", "pattern"),
        ("dev.yaml", "ci_roles: {plan: not-an-arn, apply: x}\n", "ci_roles.plan", "pattern"),
        ("pr.yaml", "ephemeral: {ttl_hours: 0}\n", "ephemeral.ttl_hours", "greater than or equal to 1"),
        ("pr.yaml", "ephemeral: {suffix_pattern: '(['}\n", "ephemeral.suffix_pattern", "regular"),
        ("dev.yaml", "branch: staging\n", "branch", "already deploys environment"),
    ],
)
def test_invalid_files_fail_with_file_key_and_reason(envdir, file, append, key, reason):
    amend(envdir / file, append)
    exc = refusal(envdir)
    assert exc.key == key, str(exc)
    assert reason in exc.reason, str(exc)
    assert str(exc).startswith(f"{exc.file}: {key}: ")


def test_error_names_the_file_that_set_the_value(envdir):
    amend(envdir / "defaults.yaml", "region: nowhere-1\n")
    exc = refusal(envdir)
    assert exc.file.endswith("defaults.yaml")
    assert exc.key == "region"


def test_missing_required_key(envdir):
    text = "\n".join(ln for ln in (envdir / "dev.yaml").read_text().splitlines() if "account_id" not in ln)
    write(envdir / "dev.yaml", text + "\n")
    exc = refusal(envdir)
    assert exc.key == "account_id"
    assert exc.reason == "required key is missing"
    assert exc.file.endswith("dev.yaml")


def test_missing_branch_is_required_for_long_lived(envdir):
    text = "\n".join(ln for ln in (envdir / "dev.yaml").read_text().splitlines() if ln != "branch: dev")
    write(envdir / "dev.yaml", text + "\n")
    refusal(envdir, match="branch: required key is missing")


def test_not_yaml(envdir):
    write(envdir / "dev.yaml", "region: [unclosed\n")
    assert refusal(envdir, match="not valid YAML").key.startswith("line ")


def test_duplicate_key_is_refused(envdir):
    path = envdir / "dev.yaml"
    write(path, path.read_text() + "settings:\n  platform: {}\n")
    exc = refusal(envdir, match="duplicate key 'settings'")
    assert exc.file.endswith("dev.yaml")
    assert exc.key.startswith("line ")


def test_not_a_mapping(envdir):
    write(envdir / "dev.yaml", "- a\n- b\n")
    refusal(envdir, match="must be a mapping")


def test_overlapping_cidrs_across_files(envdir):
    for name, cidr in (("dev", "10.60.0.0/16"), ("staging", "10.60.128.0/17")):
        amend(envdir / f"{name}.yaml", net(vpc_cidr=cidr))
    message = str(refusal(envdir))
    assert "CIDR 10.60.128.0/17 overlaps 10.60.0.0/16 at settings.net.vpc_cidr" in message
    assert "dev.yaml" in message
    assert "staging.yaml" in message


def test_distinct_cidrs_load(envdir):
    for name, cidr in (("dev", "10.60.0.0/16"), ("staging", "10.61.0.0/16")):
        amend(envdir / f"{name}.yaml", net(vpc_cidr=cidr))
    envs = load_all(envdir)
    assert envs["dev"].settings_for("net").vpc_cidr == "10.60.0.0/16"


def test_region_override_per_stack(envdir):
    path = envdir / "dev.yaml"
    amend(path, net(region="us-east-2"))
    env = load_all(envdir)["dev"]
    assert env.region_for("net") == "us-east-2"
    assert env.region == "us-east-1"


def test_resolve_target_rules():
    assert resolve_target("dev", None).suffix == "dev"
    assert resolve_target("pr", "pr42").suffix == "pr42"
    with pytest.raises(SuffixError, match="ephemeral suffixes must match"):
        resolve_target("pr", "dev")
    with pytest.raises(SuffixError, match="deploys under its own name"):
        resolve_target("dev", "pr1")
    with pytest.raises(SuffixError, match="uppercase"):
        resolve_target("pr", "Pr1")
