"""Faults mid-apply on the embedded AWS: concurrent applies, Ctrl-C, SIGKILL,
the emulator dying, a destroy that fails.

The stacks are ``TAP_E2E_STACKS`` (default: the file-processing stack), synthesized
once per module (per xdist worker). Each test starts from an empty environment
with saved plans, injects one fault, recovers the way an operator would, and
ends with every stack's second plan empty (``scripts/tap converge``).

Timing is made deterministic with SIGSTOP/SIGCONT: a Terraform that holds the
state lock is paused (as a slow apply would be) while the fault is injected.

The emulator keeps everything in memory. After it dies and restarts, the state
bucket, the state, the lock and every resource are gone together, so the honest
recovery is the one the error message gives: bootstrap, plan and apply from
scratch; the test asserts exactly that and that the result converges.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from lib.config import load_environment
from scripts.tapctl import cli
from scripts.tapctl.core import emulator_process
from scripts.tapctl.gitops import janitor
from tests.e2e.conftest import E2E_STACKS, Workspace
from tests.integration.waiting import eventually

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = "pr8"
PR = ("-e", "pr", "-s", SUFFIX)
STACKS = E2E_STACKS.split(",")
#: The stack a fault is injected into (its apply is paused holding the lock).
STACK = STACKS[0]
ENV = load_environment("pr")


class Faults:
    """The CLI, the state bucket and the processes of one faults workspace."""

    def __init__(self, ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
        self.ws = ws
        self.capsys = capsys
        self.logs: dict[int, Path] = {}

    # -- the CLI ----------------------------------------------------------------
    def tap(self, *argv: str) -> tuple[int, str]:
        """``scripts/tap`` in-process; returns (exit code, stderr)."""
        self.capsys.readouterr()
        code = cli.main(list(argv))
        return code, self.capsys.readouterr().err

    def ok(self, *argv: str) -> None:
        code, err = self.tap(*argv)
        assert code == 0, f"scripts/tap {' '.join(argv)} exited {code}: {err[-2000:]}"

    def spawn(self, *argv: str) -> subprocess.Popen[str]:
        """``scripts/tap`` as its own process, so it can be signalled."""
        log = self.ws.root / f"cli-{len(list(self.ws.root.glob('cli-*')))}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with log.open("w") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "scripts.tapctl", *argv],
                cwd=ROOT,
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.logs[proc.pid] = log
        return proc

    def output_of(self, proc: subprocess.Popen[str]) -> str:
        return self.logs[proc.pid].read_text(errors="replace")

    # -- the state bucket -------------------------------------------------------
    def s3(self) -> Any:
        return self.ws.s3(ENV.account_id)

    def lock(self, stack: str) -> dict[str, Any] | None:
        key = f"{SUFFIX}/{stack}.tfstate.tflock"
        try:
            body = self.s3().get_object(Bucket=ENV.state.bucket, Key=key)["Body"].read()
        except Exception:  # no lock (or no bucket yet)
            return None
        return json.loads(body)

    def state_keys(self) -> list[str]:
        resp = self.s3().list_objects_v2(Bucket=ENV.state.bucket, Prefix=f"{SUFFIX}/")
        return sorted(o["Key"] for o in resp.get("Contents", []))

    def apply_log(self, stack: str) -> str:
        path = self.ws.tap / "logs" / f"{SUFFIX}.{stack}.apply.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- processes --------------------------------------------------------------
    @staticmethod
    def terraform_pid(parent: int, command: str) -> int | None:
        """A running ``terraform <command>`` below ``parent`` (any thread's child)."""
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in children:
                try:
                    argv = Path(f"/proc/{child}/cmdline").read_text().split("\0")
                except OSError:
                    continue
                if argv[0].endswith("terraform") and command in argv[1:2]:
                    return int(child)
        return None

    def apply_holding_lock(self, stack: str) -> tuple[subprocess.Popen[str], int, dict[str, Any]]:
        """Start ``scripts/tap apply``; pause its Terraform as soon as it holds the lock."""
        proc = self.spawn("apply", *PR)
        tf = eventually(
            "terraform apply", lambda: self.terraform_pid(proc.pid, "apply"), timeout=60, interval=0.05
        )
        holder = eventually(f"the lock on {stack}", lambda: self.lock(stack), timeout=60, interval=0.02)
        os.kill(tf, signal.SIGSTOP)
        return proc, tf, holder

    def apply_meets(
        self, fault: Callable[[subprocess.Popen[str]], object], timeout: float
    ) -> tuple[int, str, float]:
        """An apply paused holding the lock on ``STACK`` meets ``fault``, then goes on:
        (exit code, output, seconds from going on to the exit)."""
        proc, tf, _ = self.apply_holding_lock(STACK)
        fault(proc)
        os.kill(tf, signal.SIGCONT)
        t0 = time.monotonic()
        code = proc.wait(timeout=timeout)
        return code, self.output_of(proc), time.monotonic() - t0

    def converged(self) -> None:
        """Every stack's second plan is empty."""
        code, err = self.tap("converge", *PR)
        assert code == 0, f"second plan not empty: {err[-2000:]}"

    def recovers(self, *commands: str) -> None:
        """``scripts/tap <command>`` succeeds for each command in turn, then the second plan is empty."""
        for command in commands:
            self.ok(command, *PR)
        self.converged()


@pytest.fixture(scope="module")
def faults_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One synth per module: the stacks of ``TAP_E2E_STACKS`` for pr/pr8."""
    ws = Workspace(tmp_path_factory.mktemp("faults"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TAP_WORKDIR", str(ws.tap))
        mp.setenv("CDKTF_OUTDIR", str(ws.out))
        mp.setenv("TAP_OUTPUTS_DIR", str(ws.outputs))
        mp.setenv("TAP_PARALLELISM", "2")
        mp.delenv("TAP_CLOUD", raising=False)
        mp.setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
        assert cli.main(["synth", *PR, "--stacks", E2E_STACKS]) == 0
        try:
            yield ws
        finally:
            emulator_process.stop()


@pytest.fixture
def faults(faults_root: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch) -> Iterator[Faults]:
    """An empty, bootstrapped environment with saved plans; destroyed afterwards."""
    for var, path in (("TAP_WORKDIR", faults_root.tap), ("CDKTF_OUTDIR", faults_root.out)):
        monkeypatch.setenv(var, str(path))
    monkeypatch.setenv("TAP_OUTPUTS_DIR", str(faults_root.outputs))
    f = Faults(faults_root, capsys)
    if emulator_process.running() is None:
        f.ok("emulator", "start")
    f.ok("bootstrap", *PR)
    f.ok("plan", *PR)
    yield f
    if emulator_process.running() is not None:
        for stack in STACKS:
            holder = f.lock(stack)
            if holder:
                f.tap("unlock", *PR, "--stack", stack, "--lock-id", holder["ID"])
        f.tap("destroy", *PR)


def test_concurrent_apply_waits_for_the_lock_then_names_its_holder(faults, fault):
    rec = fault(
        case="two applies at once",
        input=f"`scripts/tap apply --lock-timeout 3s` while another apply of {SUFFIX} holds the lock",
        rule="the second waits up to the lock timeout, then fails naming the holder; nothing is corrupted",
    )
    first, tf, holder = faults.apply_holding_lock(STACK)
    try:
        t0 = time.monotonic()
        code, err = faults.tap("apply", *PR, "--lock-timeout", "3s")
        waited = time.monotonic() - t0
    finally:
        os.kill(tf, signal.SIGCONT)
    rec.observed = f"exit {code} after {waited:.1f}s: " + err.strip().splitlines()[-1]
    assert code == 1
    assert f"the state of {STACK} is locked by {holder['Who']}" in err
    assert "(OperationTypeApply since " in err
    assert f"lock id {holder['ID']}" in err
    assert "waited 3s" in err
    assert waited >= 3
    assert first.wait(timeout=120) == 0, faults.output_of(first)
    assert faults.lock(STACK) is None
    # the apply that finished left each stack's state and its fingerprint record
    assert faults.state_keys() == sorted(
        f"{SUFFIX}/{s}.{kind}" for s in STACKS for kind in ("tfstate", "fingerprint.json")
    )
    faults.converged()
    rec.observed += "; the first apply then finished (exit 0) and the second plan is empty"


def test_sigint_stops_terraform_gracefully_and_releases_the_lock(faults, fault):
    rec = fault(
        case="Ctrl-C (SIGINT) during apply",
        input="SIGINT to `scripts/tap apply` while Terraform holds the lock",
        rule="Terraform stops gracefully, the lock is released, a re-run converges",
    )

    def ctrl_c(proc: subprocess.Popen[str]) -> None:
        os.kill(proc.pid, signal.SIGINT)  # forwarded to Terraform, pending until it runs again
        time.sleep(0.5)

    code, out, _ = faults.apply_meets(ctrl_c, timeout=90)
    rec.observed = f"exit {code}: {out.strip().splitlines()[-1]}"
    assert code == 130, out
    assert "interrupted: Terraform was asked to stop gracefully" in out
    assert "Interrupt received" in faults.apply_log(STACK)
    assert faults.lock(STACK) is None, "the lock was not released"
    faults.recovers("plan", "apply")
    rec.observed += "; Terraform logged 'Interrupt received', no lock left; plan + apply converged"


def test_sigkill_leaves_the_lock_which_unlock_removes_by_id(faults, fault):
    rec = fault(
        case="SIGKILL during apply",
        input="SIGKILL to Terraform (and the CLI) while it holds the lock",
        rule="the lock stays; the CLI shows the lock id and an unlock command that removes only that lock",
    )
    proc, tf, holder = faults.apply_holding_lock(STACK)
    os.killpg(tf, signal.SIGKILL)  # Terraform and its provider, as a lost runner would
    proc.kill()
    proc.wait(timeout=30)
    assert faults.lock(STACK) == holder, "the lock of the killed apply must stay"

    code, err = faults.tap("plan", *PR, "--lock-timeout", "1s")
    unlock = f"scripts/tap unlock -e pr -s {SUFFIX} --stack {STACK} --lock-id {holder['ID']}"
    assert code == 1
    assert f"lock id {holder['ID']}" in err
    assert unlock in err
    code, wrong = faults.tap("unlock", *PR, "--stack", STACK, "--lock-id", str(uuid.uuid4()))
    assert code == 2
    assert "nothing removed" in wrong
    assert faults.lock(STACK) == holder
    faults.ok(*unlock.split()[1:])
    assert faults.lock(STACK) is None
    rec.observed = f"plan: {err.strip().splitlines()[-1]}; wrong id refused: {wrong.strip()}"

    faults.recovers("plan", "apply")
    rec.observed += "; after unlock, plan + apply converged"


def test_emulator_dies_mid_apply(faults, fault):
    rec = fault(
        case="the emulator dies mid-apply",
        input="the embedded AWS is stopped while Terraform holds the lock",
        rule="a clear error; after restart (in-memory: empty) bootstrap + plan + apply converge",
    )
    code, out, seconds = faults.apply_meets(lambda proc: emulator_process.stop(), timeout=150)
    rec.observed = f"exit {code} after {seconds:.0f}s: {out.strip().splitlines()[-1]}"
    assert code == 1, out
    assert "refused connections: the embedded AWS stopped" in out
    assert "run bootstrap, plan and apply again" in out

    faults.ok("emulator", "start")
    assert faults.lock(STACK) is None  # the restarted emulator is empty
    faults.recovers("bootstrap", "plan", "apply")
    rec.observed += "; after restart: bootstrap + plan + apply converged"


def test_failed_destroy_exits_non_zero_and_keeps_state_for_the_janitor(faults, fault):
    rec = fault(
        case="a destroy that fails",
        input="DynamoDB deletion protection switched on out of band, then `scripts/tap destroy`",
        rule="destroy exits non-zero and keeps the state, so the janitor finds the environment; "
        "a re-run destroy (protection lifted) removes everything",
    )
    faults.ok("apply", *PR)
    state = emulator_process.running()
    assert state is not None
    creds = emulator_process.credentials_for(state, ENV.account_id)
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=state.url,
        region_name=ENV.region,
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
    )
    tables = [t for t in ddb.list_tables()["TableNames"] if t.endswith(f"-{SUFFIX}")]
    assert tables, "the stacks under test create a DynamoDB table"
    for table in tables:
        ddb.update_table(TableName=table, DeletionProtectionEnabled=True)

    code, err = faults.tap("destroy", *PR)
    rec.observed = f"exit {code}: {err.strip().splitlines()[-1]}"
    assert code == 1
    assert "destroy failed for" in err
    assert faults.state_keys(), "a failed destroy keeps its state"
    found = janitor.list_ephemeral(faults.s3(), ENV.state.bucket, ENV.ephemeral.suffix_pattern)
    assert SUFFIX in [e.suffix for e in found]

    for table in tables:
        ddb.update_table(TableName=table, DeletionProtectionEnabled=False)
    # The failed destroy removed what it could: the state records only what is left.
    faults.ok("destroy", *PR)
    assert faults.state_keys() == []
    assert [t for t in ddb.list_tables()["TableNames"] if t.endswith(f"-{SUFFIX}")] == []
    rec.observed += "; the janitor lists it; after the protection is lifted a re-run destroy removes the rest"
