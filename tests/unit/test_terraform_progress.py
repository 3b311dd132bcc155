"""``Terraform.apply`` and ``Terraform.destroy`` run with ``-json`` and stream their progress
(scripts/tapctl/core/terraform.py): a stand-in ``terraform`` replays Terraform's event
lines; one test runs the real binary on built-in ``terraform_data`` resources."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from scripts.tapctl.core import terraform, terraform_setup
from scripts.tapctl.core.errors import StageFailed
from scripts.tapctl.core.tfprogress import Progress
from tests.unit.test_progress import ERRORED, Recorder, diagnostic, version

LOCK_DETAIL = (
    "Error message: operation error S3: PutObject, https response error StatusCode: 412, PreconditionFailed\n"
    "Lock Info:\n  ID:        5d2f3c1e-8b1a-4c3e-9f00-0123456789ab\n"
    "  Path:      tap-tfstate-111111111111-use1/pr8/iot_pipeline.tfstate\n"
    "  Operation: OperationTypeApply\n  Who:       runner@ci-42\n  Version:   1.11.4\n"
    "  Created:   2026-11-23 13:00:00.1 +0000 UTC\n  Info:      \n\n\n"
    "Terraform acquires a state lock to protect the state from being written\n"
    "by multiple users at the same time."
)
STALE_DETAIL = (
    "The given plan file can no longer be applied because the state was changed by another "
    "operation after the plan was created."
)


def stand_in(tmp_path: Path, lines: list[str], code: int) -> str:
    """A ``terraform`` that records its arguments, prints ``lines`` and exits with ``code``."""
    (tmp_path / "events.jsonl").write_text("".join(ln + "\n" for ln in lines))
    script = tmp_path / "terraform"
    script.write_text(
        f'#!/bin/sh\necho "$@" > {tmp_path / "args"}\ncat {tmp_path / "events.jsonl"}\nexit {code}\n'
    )
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def stack_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    path = tmp_path / "iot_pipeline"
    path.mkdir()
    return path


def test_apply_streams_progress_and_logs_readable_text(tmp_path, stack_dir):
    rec = Recorder()
    tf = terraform.Terraform(
        stand_in(tmp_path, [ln for _, ln in ERRORED], 1), stack_dir, {}, "pr8.iot_pipeline"
    )
    with pytest.raises(StageFailed) as err:
        tf.apply("tfplan", progress=rec.progress(interval=0.0))
    assert (tmp_path / "args").read_text().split() == [
        "apply",
        "-json",
        "-input=false",
        "-lock-timeout=60s",
        "tfplan",
    ]
    assert str(err.value).startswith(
        "terraform apply failed in iot_pipeline (exit 1): creating Lambda Function (iot-processor-pr8): "
        "operation error Lambda: CreateFunction [log: "
    )
    assert rec.lines[-1].endswith("3/3 resources (aws_sqs_queue.ingest created, 2.3s; 1 failed)")
    log = (tmp_path / "tap" / "logs" / "pr8.iot_pipeline.apply.log").read_text()
    assert log.startswith(f"$ {tmp_path / 'terraform'} apply -json ")
    assert "aws_lambda_function.processor: Creation errored after 1s\n" in log
    assert "{" not in log


def test_a_held_lock_in_json_is_still_recognised(tmp_path, stack_dir):
    lines = [version(), diagnostic("error", "Error acquiring the state lock", LOCK_DETAIL, 0.1)]
    tf = terraform.Terraform(
        stand_in(tmp_path, lines, 1), stack_dir, {}, "x", unlock_hint="scripts/tap unlock"
    )
    with pytest.raises(terraform.StateLocked) as err:
        tf.apply("tfplan", progress=Recorder().progress())
    assert err.value.lock_id == "5d2f3c1e-8b1a-4c3e-9f00-0123456789ab"
    assert err.value.who == "runner@ci-42"
    assert "`scripts/tap unlock --lock-id 5d2f3c1e-8b1a-4c3e-9f00-0123456789ab`" in str(err.value)


def test_a_stale_plan_in_json_is_still_recognised(tmp_path, stack_dir):
    lines = [version(), diagnostic("error", "Saved plan is stale", STALE_DETAIL, 0.1)]
    tf = terraform.Terraform(stand_in(tmp_path, lines, 1), stack_dir, {}, "x")
    with pytest.raises(
        StageFailed, match=r"the saved plan for iot_pipeline is stale: .* Re-run `scripts/tap plan`"
    ):
        tf.apply("tfplan", progress=Recorder().progress())


def test_destroy_runs_with_json_and_its_own_label(tmp_path, stack_dir, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    lines: list[str] = []
    monkeypatch.setattr("scripts.tapctl.core.ui.info", lines.append)
    tf = terraform.Terraform(stand_in(tmp_path, [ln for _, ln in ERRORED[:7]], 0), stack_dir, {}, "x")
    tf.destroy()  # the default progress: printed through ui.info, labelled with the stack directory
    assert (tmp_path / "args").read_text().split() == [
        "destroy",
        "-json",
        "-auto-approve",
        "-input=false",
        "-lock-timeout=60s",
    ]
    assert lines[0] == "destroy  iot_pipeline           0/3 resources (starting)"
    assert lines[-1].startswith(
        "destroy  iot_pipeline           1/3 resources (aws_iam_role.processor created"
    )


def test_the_log_keeps_every_line_even_if_the_progress_fails(tmp_path, stack_dir):
    class Broken(Progress):
        def feed(self, line: str) -> str:
            raise RuntimeError("bug")

    lines = [version(), "not json"]
    tf = terraform.Terraform(stand_in(tmp_path, lines, 0), stack_dir, {}, "x")
    tf.apply("tfplan", progress=Broken("apply", "x", emit=print, github=False))
    log = (tmp_path / "tap" / "logs" / "x.apply.log").read_text()
    assert log.splitlines()[1:] == [version(), "not json"]


REAL_CONFIG = """
resource "terraform_data" "item" {
  count = 5
  input = "item-${count.index}"
}

resource "terraform_data" "after" {
  input = [for item in terraform_data.item : item.output]
}
"""


def test_real_terraform_apply_and_destroy_reach_n_of_n(tmp_path, stack_dir):
    """The real binary, offline: ``terraform_data`` is built in (no provider), local state."""
    binary = terraform_setup.find_binary()  # the pipeline needs it anyway: no skip
    version_found = terraform_setup.check_version(binary)
    assert version_found >= (1, 4, 0)  # terraform_data
    (stack_dir / "main.tf").write_text(REAL_CONFIG)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TF_CLI_CONFIG_FILE": os.devnull}
    tf = terraform.Terraform(binary, stack_dir, env, "real", lock_timeout="5s")
    tf.plan("tfplan")
    shutil.copy(stack_dir / "tfplan", stack_dir / "tfplan.copy")

    rec = Recorder()
    tf.apply("tfplan", progress=rec.progress(interval=0.0))
    assert rec.lines[0] == "apply    iot_pipeline           0/6 resources (starting)"
    assert rec.lines[-1].startswith(
        "apply    iot_pipeline           6/6 resources (terraform_data.after created, "
    )
    state = json.loads((stack_dir / "terraform.tfstate").read_text())
    assert len(state["resources"][0]["instances"]) + len(state["resources"][1]["instances"]) == 6

    # The same plan again: Terraform's JSON diagnostic still reads as a stale plan.
    with pytest.raises(StageFailed, match="the saved plan for iot_pipeline is stale"):
        tf.apply("tfplan.copy", progress=Recorder().progress())

    rec = Recorder()
    tf.destroy(progress=rec.progress("destroy", "iot_pipeline", interval=0.0))
    assert rec.lines[-1].startswith("destroy  iot_pipeline           6/6 resources (terraform_data.")
    assert json.loads((stack_dir / "terraform.tfstate").read_text())["resources"] == []
