"""Terraform, called directly on ``cdktf.out/stacks/<stack>`` (no cdktf-cli).

The binary, its version and the shared CLI configuration are
:mod:`scripts.tapctl.core.terraform_setup`. ``terraform init`` runs once per stack
directory per synth and is serialized with a file lock, because Terraform's
plugin cache is not safe for concurrent writers. Apply and destroy stream their
``-json`` events through :mod:`scripts.tapctl.core.tfprogress`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from scripts.tapctl.core import paths
from scripts.tapctl.core.errors import StageFailed
from scripts.tapctl.core.tfprogress import Progress

LOCK_TIMEOUT = os.environ.get("TAP_LOCK_TIMEOUT", "60s")
MAX_LOCK_TIMEOUT_SECONDS = 3600

#: Running Terraform processes, so an interrupt can be forwarded exactly once.
_running: set[subprocess.Popen[bytes]] = set()
_running_lock = threading.Lock()


def parse_lock_timeout(text: str) -> str:
    """A Terraform ``-lock-timeout`` duration: ``0s``..``1h`` as ``<n>s``, ``<n>m`` or ``<n>h``."""
    match = re.fullmatch(r"(\d{1,5})([smh])", text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration: use e.g. 30s, 5m or 1h")
    seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]
    if seconds > MAX_LOCK_TIMEOUT_SECONDS:
        raise ValueError(f"{text} is out of range: use 0s-1h")
    return f"{match.group(1)}{match.group(2)}"


class StateLocked(StageFailed):
    """Another Terraform process holds the stack's state lock."""

    def __init__(self, message: str, *, lock_id: str, who: str) -> None:
        super().__init__(message)
        self.lock_id = lock_id
        self.who = who


_LOCK_FIELD = re.compile(r"^\s*(ID|Path|Operation|Who|Created):\s*(.+?)\s*$", re.MULTILINE)


def lock_info(output: str) -> dict[str, str]:
    """The ``Lock Info:`` block Terraform prints when it cannot acquire a lock."""
    if "Error acquiring the state lock" not in output or "Lock Info:" not in output:
        return {}
    block = output.split("Lock Info:", 1)[1]
    return dict(_LOCK_FIELD.findall(block))


@dataclass
class Result:
    returncode: int
    output: str
    log: Path


class Terraform:
    """Runs Terraform in one stack directory with a given environment."""

    def __init__(
        self,
        binary: str,
        stack_dir: Path,
        env: Mapping[str, str],
        log_name: str,
        *,
        lock_timeout: str = LOCK_TIMEOUT,
        unlock_hint: str = "",
    ) -> None:
        self.binary = binary
        self.dir = stack_dir
        self.env = dict(env)
        self.log_name = log_name
        self.lock_timeout = lock_timeout
        #: The command that removes a stale lock of this stack, without ``--lock-id``.
        self.unlock_hint = unlock_hint

    def run(
        self,
        args: Sequence[str],
        *,
        stage: str,
        ok_codes: Sequence[int] = (0,),
        progress: Progress | None = None,
    ) -> Result:
        """Run Terraform, its output into the stage's log. With ``progress`` (the
        command runs with ``-json``) the output is read as it comes: the log keeps
        its human-readable text and ``progress`` prints the stack's progress."""
        log = paths.logs_dir() / f"{self.log_name}.{stage}.log"
        cmd = [self.binary, *args]
        with log.open("wb") as fh:
            fh.write(("$ " + " ".join(cmd) + "\n").encode())
            fh.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=self.dir,
                env=self.env,
                stdout=fh if progress is None else subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # an interrupt reaches it once, from us
            )
            with _running_lock:
                _running.add(proc)
            try:
                if progress is not None:
                    _pump(proc, fh, progress)
                code = _wait(proc)
            finally:
                with _running_lock:
                    _running.discard(proc)
        if progress is not None:
            with contextlib.suppress(Exception):  # as in _pump: progress never fails a command
                progress.finish(code)
        output = log.read_text(errors="replace")
        result = Result(code, output, log)
        if code not in ok_codes:
            self._raise_known(args[0], code, output, log)
            raise StageFailed(
                f"terraform {args[0]} failed in {self.dir.name} (exit {code}): "
                f"{error_summary(output)} [log: {log}]"
            )
        return result

    def _raise_known(self, command: str, code: int, output: str, log: Path) -> None:
        """Turn a held lock or an unreachable endpoint into one actionable message."""
        info = lock_info(output)
        if info.get("ID"):
            unlock = f"{self.unlock_hint} --lock-id {info['ID']}" if self.unlock_hint else ""
            raise StateLocked(
                f"the state of {self.dir.name} is locked by {info.get('Who', '?')} "
                f"({info.get('Operation', '?')} since {info.get('Created', '?')}; lock id {info['ID']}); "
                f"waited {self.lock_timeout}. If that process is still running, let it finish; if it "
                f"is gone, remove exactly this lock with `{unlock or 'terraform force-unlock ' + info['ID']}`"
                f" [log: {log}]",
                lock_id=info["ID"],
                who=info.get("Who", ""),
            )
        endpoint = self.env.get("AWS_ENDPOINT_URL")
        if endpoint and "connection refused" in output:
            raise StageFailed(
                f"terraform {command} failed in {self.dir.name} (exit {code}): the AWS endpoint "
                f"{endpoint} refused connections: the embedded AWS stopped. It keeps everything in "
                "memory, so after `scripts/tap emulator start` run bootstrap, plan and apply again "
                f"[log: {log}]"
            )

    def capture(self, args: Sequence[str]) -> str:
        proc = subprocess.run(
            [self.binary, *args],
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace")
            raise StageFailed(f"terraform {args[0]} failed in {self.dir.name}: {error_summary(err)}")
        return proc.stdout.decode()

    # -- the commands -------------------------------------------------------
    def init(self) -> None:
        """Init once per stack directory per synth, one init at a time."""
        marker = self.dir / ".terraform" / ".tap-initialized"
        if marker.exists():
            return
        with _init_lock():
            self.run(["init", "-input=false", "-no-color"], stage="init")
        marker.touch()

    def plan(
        self, plan_file: str, *, destroy: bool = False, detailed: bool = False, lock: bool = True
    ) -> bool:
        """Save a plan; with ``detailed`` return whether it has changes. ``lock=False``
        (a speculative plan) reads the state without taking its lock."""
        args = [
            "plan",
            "-input=false",
            "-no-color",
            f"-lock-timeout={self.lock_timeout}" if lock else "-lock=false",
            f"-out={plan_file}",
        ]
        if destroy:
            args.append("-destroy")
        if detailed:
            args.append("-detailed-exitcode")
        result = self.run(args, stage="plan", ok_codes=(0, 2) if detailed else (0,))
        return result.returncode == 2

    def apply(self, plan_file: str, *, progress: Progress | None = None) -> None:
        """Apply a saved plan, printing the stack's progress (``progress``: how)."""
        try:
            self.run(
                ["apply", "-json", "-input=false", f"-lock-timeout={self.lock_timeout}", plan_file],
                stage="apply",
                progress=progress or Progress("apply", self.dir.name),
            )
        except StateLocked:
            raise
        except StageFailed as exc:
            if "Saved plan is stale" in str(exc) or "stale" in _log_text(exc):
                raise StageFailed(
                    f"the saved plan for {self.dir.name} is stale: the state changed after it was "
                    "made (another apply ran). Re-run `scripts/tap plan` and review the new plan."
                ) from None
            raise

    def destroy(self, *, progress: Progress | None = None) -> None:
        """Destroy everything in the state, printing the stack's progress."""
        self.run(
            ["destroy", "-json", "-auto-approve", "-input=false", f"-lock-timeout={self.lock_timeout}"],
            stage="destroy",
            progress=progress or Progress("destroy", self.dir.name),
        )

    def show_json(self, plan_file: str) -> str:
        return self.capture(["show", "-json", plan_file])

    def show_text(self, plan_file: str) -> str:
        return self.capture(["show", "-no-color", plan_file])

    def output_json(self) -> str:
        return self.capture(["output", "-json"])


def _log_text(exc: StageFailed) -> str:
    match = re.search(r"\[log: (.+)\]$", str(exc))
    if match and Path(match.group(1)).exists():
        return Path(match.group(1)).read_text(errors="replace")
    return ""


def _pump(proc: subprocess.Popen[bytes], fh: IO[bytes], progress: Progress) -> None:
    """Read Terraform's output line by line to its end: each line to ``progress``, its text to the log."""
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            line = raw.decode(errors="replace")
            try:
                text = progress.feed(line)
            except Exception:  # the progress is a convenience: never lose the line or stop reading
                text = line
            fh.write(text.encode())
            fh.flush()
    except KeyboardInterrupt:
        # Forward one SIGINT, then keep reading: Terraform must not block on a full pipe.
        interrupt_all()
        for raw in proc.stdout:
            fh.write(raw)
        proc.wait()
        raise
    finally:
        proc.stdout.close()


def _wait(proc: subprocess.Popen[bytes]) -> int:
    try:
        return proc.wait()
    except KeyboardInterrupt:
        # Forward one SIGINT: Terraform stops gracefully and releases its lock.
        interrupt_all()
        proc.wait()
        raise


def forward_interrupt(signum: int, frame: object) -> None:
    """SIGINT handler for the CLI's main thread.

    Terraform runs in its own session (a terminal's Ctrl-C does not reach it),
    from worker threads (a KeyboardInterrupt does not reach them). Forward the
    signal to every running Terraform, which stops gracefully and releases its
    state lock; then interrupt the main thread, which waits for them."""
    interrupt_all()
    raise KeyboardInterrupt


def interrupt_all() -> None:
    """SIGINT to each running Terraform (not its process group: Terraform stops its providers)."""
    with _running_lock:
        procs = list(_running)
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGINT)


class _init_lock:
    """A file lock around ``terraform init`` (shared plugin cache)."""

    def __enter__(self) -> None:
        self.fh = (paths.workdir() / "init.lock").open("w")
        fcntl.flock(self.fh, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


_ERROR_LINE = re.compile(r"^(?:│\s*)?Error: (.+)$", re.MULTILINE)


def error_summary(output: str) -> str:
    """The first Terraform ``Error:`` line, or the last non-empty line."""
    match = _ERROR_LINE.search(output)
    if match:
        return match.group(1).strip()
    lines = [ln.strip(" │╷╵") for ln in output.splitlines() if ln.strip(" │╷╵")]
    return lines[-1] if lines else "(no output)"
