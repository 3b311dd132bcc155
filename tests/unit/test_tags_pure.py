"""Tags are a pure function of the repository's files (issue 11): drift synthesized without
``COMMIT_AUTHOR``/``REPOSITORY``, so the ``Author``/``Repository`` tags read ``local`` and every
taggable resource showed an update; PR and deploy plans churned whenever author and merger differed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lib.config import EnvironmentConfigError, load_all, load_environment
from tests.unit.test_config import REPO_ENVS, amend

CI_CONTEXTS = [
    {},
    {"COMMIT_AUTHOR": "alice", "COMMIT_SHA": "a" * 40, "REPOSITORY": "acme/tap", "PR_NUMBER": "7"},
    {"COMMIT_AUTHOR": "bob", "COMMIT_SHA": "b" * 40, "REPOSITORY": "fork/elsewhere", "PR_NUMBER": "8"},
]


def _configs(out: Path) -> dict[str, bytes]:
    return {d.name: (d / "cdk.tf.json").read_bytes() for d in sorted((out / "stacks").iterdir())}


@pytest.mark.parametrize(("env", "suffix"), [("pr", "pr7"), ("dev", None)])
def test_cdk_tf_json_is_byte_identical_whatever_the_ci_context(tmp_path, env, suffix):
    from lib.app import main

    base = {
        "ENVIRONMENT": env,
        "TAP_STACKS": "iot_pipeline",
        **({"ENVIRONMENT_SUFFIX": suffix} if suffix else {}),
    }
    configs = []
    for i, ci in enumerate(CI_CONTEXTS):
        out = main({**base, **ci, "CDKTF_OUTDIR": str(tmp_path / str(i) / "cdktf.out")})
        configs.append(_configs(out))
    assert configs[0], "the stack was synthesized"
    assert configs[1] == configs[0]
    assert configs[2] == configs[0]
    text = configs[1]["iot_pipeline"].decode()
    for leaked in ("alice", "a" * 40, "fork/elsewhere"):
        assert leaked not in text


def test_the_ci_context_is_kept_in_the_synth_metadata(tmp_path):
    from lib.app import main

    ci = CI_CONTEXTS[1]
    out = main({"ENVIRONMENT": "dev", "TAP_STACKS": "iot_pipeline", "CDKTF_OUTDIR": str(tmp_path), **ci})
    meta = json.loads((out / "tap-synth.json").read_text())
    assert meta["commit"] == ci["COMMIT_SHA"]
    assert meta["ci"] == {"repository": "acme/tap", "author": "alice", "pr_number": "7", "commit": "a" * 40}


def test_repository_tag_comes_from_the_environment_files(synth):
    env = load_environment("dev")
    tags = synth("dev")["iot_pipeline"]["provider"]["aws"][0]["default_tags"][0]["tags"]
    assert tags["Repository"] == env.repository == "acme/tap"
    assert {"Author", "PRNumber"}.isdisjoint(tags)


@pytest.mark.parametrize("bad", ["local", "acme", "acme/tap/x", "acme/..", "a b/c", ""])
def test_repository_must_be_owner_slash_repo(tmp_path, bad):
    envdir = tmp_path / "environments"
    shutil.copytree(REPO_ENVS, envdir)
    amend(envdir / "defaults.yaml", f"repository: {bad!r}\n")
    with pytest.raises(EnvironmentConfigError) as err:
        load_all(envdir)
    assert err.value.key == "repository", str(err.value)
