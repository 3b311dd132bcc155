"""State locks: Terraform's lock error turned into one actionable message, and
``scripts/tap unlock`` removing exactly the lock it is given (in-process moto)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import boto3
import pytest

from lib.config import resolve_target
from scripts.tapctl.core import terraform
from scripts.tapctl.core.cloud import Cloud
from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.stages import locks
from scripts.tapctl.stages.session import Session, SessionOptions
from tests.unit.fake_terraform import recording_terraform, stack_workdir, terraform_script
from tests.unit.offline_aws import mocked_aws

LOCK_ID = "5d2f3c1e-8b1a-4c3e-9f00-0123456789ab"
LOCKED_OUTPUT = f"""
Error: Error acquiring the state lock

Error message: operation error S3: PutObject, https response error StatusCode: 412, PreconditionFailed
Lock Info:
  ID:        {LOCK_ID}
  Path:      tap-tfstate-111111111111-use1/pr8/file_processing.tfstate
  Operation: OperationTypeApply
  Who:       runner@ci-42
  Version:   1.11.4
  Created:   2026-11-23 13:00:00.1 +0000 UTC
  Info:

Terraform acquires a state lock to protect the state from being written
by multiple users at the same time.
"""


def fake_terraform(tmp_path: Path, output: str, code: int) -> str:
    (tmp_path / "out.txt").write_text(output)
    return terraform_script(tmp_path, f"cat {tmp_path / 'out.txt'}\nexit {code}\n")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    return stack_workdir(tmp_path, monkeypatch, "file_processing")


def test_lock_info_reads_the_holder():
    assert terraform.lock_info(LOCKED_OUTPUT) == {
        "ID": LOCK_ID,
        "Path": "tap-tfstate-111111111111-use1/pr8/file_processing.tfstate",
        "Operation": "OperationTypeApply",
        "Who": "runner@ci-42",
        "Created": "2026-11-23 13:00:00.1 +0000 UTC",
    }
    assert terraform.lock_info("Error: something else") == {}


def test_held_lock_names_holder_and_the_unlock_command(tmp_path, workdir):
    tf = terraform.Terraform(
        fake_terraform(tmp_path, LOCKED_OUTPUT, 1),
        workdir,
        {},
        "pr8.file_processing",
        lock_timeout="3s",
        unlock_hint="scripts/tap unlock -e pr -s pr8 --stack file_processing",
    )
    with pytest.raises(terraform.StateLocked) as err:
        tf.apply("tfplan")
    message = str(err.value)
    assert message.startswith(
        "the state of file_processing is locked by runner@ci-42 (OperationTypeApply since "
        f"2026-11-23 13:00:00.1 +0000 UTC; lock id {LOCK_ID}); waited 3s."
    )
    assert f"`scripts/tap unlock -e pr -s pr8 --stack file_processing --lock-id {LOCK_ID}`" in message
    assert err.value.lock_id == LOCK_ID
    assert err.value.who == "runner@ci-42"
    assert err.value.exit_code == 1


def test_held_lock_without_hint_offers_terraform_force_unlock(tmp_path, workdir):
    tf = terraform.Terraform(fake_terraform(tmp_path, LOCKED_OUTPUT, 1), workdir, {}, "x")
    with pytest.raises(terraform.StateLocked, match=f"`terraform force-unlock {LOCK_ID}`"):
        tf.destroy()


def test_refused_emulator_connection_says_the_emulator_stopped(tmp_path, workdir):
    output = "Error: creating S3 Bucket: dial tcp 127.0.0.1:4566: connect: connection refused\n"
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
    tf = terraform.Terraform(fake_terraform(tmp_path, output, 1), workdir, env, "x")
    with pytest.raises(StageFailed) as err:
        tf.plan("tfplan")
    assert "the AWS endpoint http://127.0.0.1:4566 refused connections: the embedded AWS stopped" in str(
        err.value
    )
    assert "run bootstrap, plan and apply again" in str(err.value)


def test_lock_timeout_is_passed_to_terraform(tmp_path, workdir):
    binary, calls = recording_terraform(tmp_path)
    tf = terraform.Terraform(binary, workdir, {}, "x", lock_timeout="7s")
    tf.plan("p")
    tf.apply("p")
    tf.destroy()
    lines = calls.read_text().splitlines()
    assert len(lines) == 3
    assert all("-lock-timeout=7s" in line for line in lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0s", "0s"), ("30s", "30s"), ("5m", "5m"), ("1h", "1h"), (" 60s ", "60s")],
)
def test_parse_lock_timeout(text, expected):
    assert terraform.parse_lock_timeout(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "'soon' is not a duration"),
        ("2h", "2h is out of range: use 0s-1h"),
        ("-1s", "not a duration"),
    ],
)
def test_parse_lock_timeout_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        terraform.parse_lock_timeout(text)


class RunningTerraform:
    pid = 4242

    def __init__(self, done: bool) -> None:
        self.done = done

    def poll(self) -> int | None:
        return 0 if self.done else None


def test_forward_interrupt_signals_running_terraform_and_interrupts(monkeypatch):
    sent: list[tuple[int, int]] = []
    running, finished = RunningTerraform(done=False), RunningTerraform(done=True)
    monkeypatch.setattr(terraform.os, "kill", lambda pid, sig: sent.append((pid, sig)))
    monkeypatch.setattr(terraform, "_running", {running, finished})
    with pytest.raises(KeyboardInterrupt):
        terraform.forward_interrupt(signal.SIGINT, None)
    assert sent == [(4242, signal.SIGINT)]


# -- scripts/tap unlock ------------------------------------------------------------


@pytest.fixture
def session(monkeypatch):
    target = resolve_target("pr", "pr8")
    with mocked_aws(monkeypatch):
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=target.env.state.bucket)
        s3.put_bucket_versioning(
            Bucket=target.env.state.bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        yield Session(target=target, cloud=Cloud("aws", {}), options=SessionOptions(parallelism=1)), s3


def put_lock(s3, bucket: str, lock_id: str) -> None:
    info = {"ID": lock_id, "Operation": "OperationTypeApply", "Who": "runner@ci-42"}
    s3.put_object(Bucket=bucket, Key="pr8/file_processing.tfstate.tflock", Body=json.dumps(info))


def test_unlock_removes_exactly_the_given_lock(session):
    sess, s3 = session
    bucket = sess.target.env.state.bucket
    put_lock(s3, bucket, LOCK_ID)
    assert locks.unlock(sess, "file_processing", LOCK_ID) == (
        f"removed lock {LOCK_ID} on file_processing (held by runner@ci-42, OperationTypeApply)"
    )
    assert locks.read_lock(s3, bucket, "pr8/file_processing.tfstate.tflock") is None


def test_unlock_refuses_another_lock_id(session):
    sess, s3 = session
    bucket = sess.target.env.state.bucket
    newer = "11111111-2222-3333-4444-555555555555"
    put_lock(s3, bucket, newer)
    with pytest.raises(TapError) as err:
        locks.unlock(sess, "file_processing", LOCK_ID)
    assert str(err.value) == (
        f"the lock on file_processing has id {newer!r} (held by runner@ci-42, OperationTypeApply), "
        f"not {LOCK_ID!r}: nothing removed. Unlock only a lock whose holder is gone."
    )
    info, _ = locks.read_lock(s3, bucket, "pr8/file_processing.tfstate.tflock")
    assert info["ID"] == newer


def test_unlock_without_a_lock(session):
    sess, _ = session
    with pytest.raises(
        TapError, match=r"pr8/file_processing\.tfstate\.tflock does not exist: file_processing is not locked"
    ):
        locks.unlock(sess, "file_processing", LOCK_ID)


def test_unlock_unknown_stack(session):
    sess, _ = session
    with pytest.raises(TapError, match="--stack 'nope' is not a stack of environment 'pr'"):
        locks.unlock(sess, "nope", LOCK_ID)


def test_unreadable_lock_is_not_removed(session):
    sess, s3 = session
    bucket = sess.target.env.state.bucket
    s3.put_object(Bucket=bucket, Key="pr8/file_processing.tfstate.tflock", Body=b"not json")
    with pytest.raises(TapError, match="has id '\\(unreadable\\)'"):
        locks.unlock(sess, "file_processing", LOCK_ID)


@pytest.mark.parametrize("text", ["", "abc", LOCK_ID.upper(), LOCK_ID + "0"])
def test_lock_id_must_be_a_uuid(text):
    with pytest.raises(ValueError, match="is not a lock id"):
        locks.validate_lock_id(text)
