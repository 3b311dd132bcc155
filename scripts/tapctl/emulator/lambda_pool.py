"""Warm execution environments: runtime processes kept between invocations, as Lambda keeps them.

An :class:`ExecutionEnvironment` is one :mod:`scripts.tapctl.emulator.lambda_runtime` process for one
function configuration (code, layers, environment variables): the first invocation imports the
handler (the cold start), later ones reuse the process and its module-level state. The
:class:`Pool` hands an idle environment of the same configuration to the next invocation, or
none (the caller spawns one); concurrent invocations each get their own. An environment is
dropped when its run timed out (the process is killed), when it exited (a handler that cannot
be imported), after ``IDLE_SECONDS`` unused or ``MAX_AGE_SECONDS`` old (its role credentials are
temporary). A runtime whose emulator died reads end-of-file on stdin and exits by itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.tapctl.emulator.lambda_runtime import END_MARK, INIT_MARK

IDLE_SECONDS = 300.0
#: Lambda's limit on the init phase (importing the handler), apart from the function's timeout.
INIT_SECONDS = 10.0
MAX_AGE_SECONDS = 1800.0


class Timeout(Exception):
    """The invocation ran past its deadline; the environment was killed."""

    def __init__(self, log: str) -> None:
        super().__init__("timed out")
        self.log = log


class Exited(Exception):
    """The runtime process ended without finishing the invocation."""

    def __init__(self, log: str, code: int | None) -> None:
        super().__init__(f"exited with {code}")
        self.log = log
        self.code = code


@dataclass
class ExecutionEnvironment:
    key: str
    stream: str
    proc: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    #: what the init phase printed: logged with the first invocation
    init_log: str = ""
    initialized: bool = False

    @classmethod
    def spawn(
        cls, key: str, stream: str, argv: list[str], env: dict[str, str], cwd: Path
    ) -> ExecutionEnvironment:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        environment = cls(key=key, stream=stream, proc=proc)
        threading.Thread(target=environment._read, daemon=True, name=f"runtime-{proc.pid}").start()
        return environment

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace"))
        self.lines.put(None)

    def initialize(self, timeout: float = INIT_SECONDS) -> None:
        """Wait for the init phase to end. Raises :class:`Timeout` or :class:`Exited`."""
        self.init_log = self._until(INIT_MARK, time.time() + timeout)
        self.initialized = True

    def _until(self, mark: str, deadline: float) -> str:
        log: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.time()))
            except queue.Empty:
                self.kill()
                raise Timeout("".join(log)) from None
            if line is None:
                raise Exited("".join(log), self.proc.wait())
            if line.rstrip("\n") == mark:
                return "".join(log)
            log.append(line)

    def usable(self, now: float) -> bool:
        return (
            self.proc.poll() is None
            and now - self.last_used < IDLE_SECONDS
            and now - self.started < MAX_AGE_SECONDS
        )

    def invoke(self, request_id: str, event: bytes, deadline: float, result: Path) -> str:
        """Run one invocation; return its log. Raises :class:`Timeout` or :class:`Exited`."""
        header = {"request_id": request_id, "deadline": deadline, "result": str(result), "length": len(event)}
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(header).encode() + b"\n" + event)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise Exited("", self.proc.poll()) from None
        init_log, self.init_log = self.init_log, ""
        try:
            log = self._until(f"{END_MARK} {request_id}", deadline)
        except (Timeout, Exited) as exc:
            exc.log = init_log + exc.log
            raise
        self.last_used = time.monotonic()
        return init_log + log

    def stop(self, grace: float = 2.0) -> None:
        """End the runtime as Lambda's shutdown does: end of input, then a kill if it lingers."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


@dataclass
class Pool:
    _idle: dict[str, list[ExecutionEnvironment]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> ExecutionEnvironment | None:
        """An idle environment of configuration ``key``, or None; stale ones are stopped."""
        now, stale, found = time.monotonic(), [], None
        with self._lock:
            for candidates in self._idle.values():
                keep = [e for e in candidates if e.usable(now)]
                stale += [e for e in candidates if e not in keep]
                candidates[:] = keep
            if self._idle.get(key):
                found = self._idle[key].pop()
        for environment in stale:
            environment.stop()
        return found

    def give(self, environment: ExecutionEnvironment) -> None:
        if environment.proc.poll() is not None:
            return
        with self._lock:
            self._idle.setdefault(environment.key, []).append(environment)

    def close(self) -> None:
        with self._lock:
            environments = [e for group in self._idle.values() for e in group]
            self._idle.clear()
        for environment in environments:
            environment.stop()

    def size(self) -> int:
        with self._lock:
            return sum(len(group) for group in self._idle.values())
