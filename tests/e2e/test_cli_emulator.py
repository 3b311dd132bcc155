"""The CLI's deploy -> outputs -> destroy on the embedded AWS, step by step,
and the full `pipeline` command (the README's main job)."""

from __future__ import annotations

import json
import os

import pytest

from lib.config import load_environment
from scripts.tapctl.core import emulator_process
from tests.e2e.conftest import E2E_STACKS

pytestmark = pytest.mark.emulator

PR = ("-e", "pr", "-s", "pr5")


def state_keys(ws, env) -> list[str]:
    s3 = ws.s3(env.account_id)
    resp = s3.list_objects_v2(Bucket=env.state.bucket)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def changed(ws, capsys) -> dict:
    capsys.readouterr()
    assert ws.tap_cli("changed", *PR) == 0
    return json.loads(capsys.readouterr().out)


def check_change_detection(ws, capsys, env, stacks) -> None:
    """After an apply nothing is changed; a different or missing record makes a stack changed."""
    after = changed(ws, capsys)
    assert after["any"] is False
    assert after["stacks"] == []
    assert after["matrix"] == {"include": []}
    assert set(after["unchanged"]) == set(stacks)
    s3 = ws.s3(env.account_id)
    key = f"pr5/{stacks[0]}.fingerprint.json"
    record = json.loads(s3.get_object(Bucket=env.state.bucket, Key=key)["Body"].read())
    assert len(record["fingerprint"]) == 64
    assert record["commit"]
    assert after["unchanged"][stacks[0]]["commit"] == record["commit"]

    s3.put_object(Bucket=env.state.bucket, Key=key, Body=json.dumps({**record, "fingerprint": "0" * 64}))
    tampered = changed(ws, capsys)
    assert tampered["stacks"] == [stacks[0]]
    assert tampered["matrix"]["include"][0]["reason"].startswith("differs from the apply of")

    s3.put_object(Bucket=env.state.bucket, Key=key, Body=b"not json")
    assert changed(ws, capsys)["stacks"] == [stacks[0]], "an unreadable record is 'changed'"

    s3.delete_object(Bucket=env.state.bucket, Key=key)
    gone = changed(ws, capsys)
    assert gone["stacks"] == [stacks[0]]
    assert gone["matrix"]["include"][0]["reason"] == "no record of an apply"
    assert ws.tap_cli("changed", *PR, "--all") == 0
    assert json.loads(capsys.readouterr().out)["stacks"] == stacks
    s3.put_object(Bucket=env.state.bucket, Key=key, Body=json.dumps(record))  # as the apply left it


def test_step_by_step_deploy_outputs_destroy(workspace, capsys, fault):
    ws = workspace
    env = load_environment("pr")
    assert ws.tap_cli("synth", *PR, "--stacks", E2E_STACKS) == 0
    assert ws.tap_cli("emulator", "start") == 0
    state = emulator_process.running()
    assert state is not None
    assert ws.tap_cli("emulator", "status") == 0
    assert ws.tap_cli("bootstrap", *PR) == 0
    s3 = ws.s3(env.account_id)
    assert s3.get_bucket_versioning(Bucket=env.state.bucket)["Status"] == "Enabled"
    pab = s3.get_public_access_block(Bucket=env.state.bucket)["PublicAccessBlockConfiguration"]
    assert all(pab.values())

    assert ws.tap_cli("plan", *PR) == 0
    stacks = E2E_STACKS.split(",")
    for stack in stacks:
        assert (ws.out / "stacks" / stack / "tfplan").exists()
        assert json.loads((ws.out / "stacks" / stack / "plan.json").read_text())["resource_changes"]
    for stack in stacks:
        summary = json.loads((ws.out / "stacks" / stack / "plan-summary.json").read_text())
        assert summary[stack]["add"] > 0

    # nothing changed since the apply: an empty answer
    capsys.readouterr()
    assert ws.tap_cli("changed", *PR) == 0
    before = json.loads(capsys.readouterr().out)
    assert before["stacks"] == stacks, "nothing applied yet: all changed"
    assert before["unchanged"] == {}

    assert ws.tap_cli("apply", *PR) == 0
    assert state_keys(ws, env) == sorted(
        key for s in stacks for key in (f"pr5/{s}.tfstate", f"pr5/{s}.fingerprint.json")
    )
    assert ws.tap_cli("converge", *PR) == 0
    check_change_detection(ws, capsys, env, stacks)

    assert ws.tap_cli("outputs", *PR) == 0
    flat = json.loads((ws.outputs / "flat-outputs.json").read_text())
    nested = json.loads((ws.outputs / "all-outputs.json").read_text())
    assert set(nested) == set(stacks)
    assert flat == {k: v for s in stacks for k, v in nested[s].items()}
    assert flat, "the stacks define outputs"

    # A saved plan already applied is stale: apply refuses it with guidance.
    stale = fault(
        case="stale saved plan",
        input="`scripts/tap apply` of a saved plan another apply already used",
        rule="refused with guidance to re-plan",
    )
    assert ws.tap_cli("apply", *PR) == 1
    err = capsys.readouterr().err
    stale.observed = err.strip().splitlines()[-1]
    assert "is stale" in err
    assert "Re-run `scripts/tap plan`" in err

    twice = fault(
        case="destroy twice",
        input="`scripts/tap destroy` run again after a successful destroy",
        rule="the second destroy succeeds as a no-op",
    )
    assert ws.tap_cli("destroy", *PR) == 0
    assert state_keys(ws, env) == []
    assert ws.tap_cli("destroy", *PR) == 0, "a second destroy is a no-op"
    out = capsys.readouterr().out
    twice.observed = "exit 0: " + "; ".join(ln for ln in out.splitlines() if "nothing to destroy" in ln)
    assert "no state: nothing to destroy" in out

    assert ws.tap_cli("emulator", "stop") == 0
    assert emulator_process.running() is None


def test_pipeline_runs_everything_and_leaves_no_emulator(workspace, capsys):
    ws = workspace
    code = ws.tap_cli("pipeline", *PR)
    captured = capsys.readouterr()
    assert code == 0, captured.err[-3000:]
    for stage in ("synth", "bootstrap", "plan", "apply", "converge", "outputs", "test", "secrets", "destroy"):
        assert f"\n{stage}" in "\n" + captured.out, f"no timing row for {stage}"
    assert "total" in captured.out
    assert emulator_process.load_state() is None
    log = (ws.tap / "emulator.log").read_text()
    assert "emulator listening" in log
    pid_line = [ln for ln in captured.err.splitlines() if "emulator started on" in ln]
    assert pid_line
    pid = int(pid_line[0].split("(pid ")[1].split(")")[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
