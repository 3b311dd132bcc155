"""The full sequence: synth -> plan -> apply -> converge -> outputs -> test -> secrets -> destroy.

On the embedded AWS the emulator is started before and stopped after, also on
failure or Ctrl-C. Destroy runs whenever apply may have created something, so
a failed run leaves nothing behind; the first failure is re-raised at the end.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lib.config import Target
from scripts.tapctl import commands, secrets, ui
from scripts.tapctl.targets import connect
from scripts.tapctl.terraform import LOCK_TIMEOUT


@dataclass
class Pipeline:
    target: Target
    cloud: str
    parallelism: int
    terraform: str
    stacks: str | None = None
    port: int | None = None
    keep: bool = False
    lock_timeout: str = LOCK_TIMEOUT
    timer: ui.StageTimer = field(default_factory=ui.StageTimer)

    def stage(self, name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.monotonic()
        ui.info(f"== {name}")
        try:
            value = fn()
        except BaseException:
            self.timer.record(name, time.monotonic() - t0, "FAILED")
            raise
        self.timer.record(name, time.monotonic() - t0, "ok")
        return value

    def run(self, on_plan: Callable[[dict], None] = lambda _: None) -> None:
        ui.info(f"pipeline for {self.target.env.name}/{self.target.suffix} on {self.cloud}")
        try:
            self.stage("synth", lambda: commands.synth(self.target, self.stacks))
            around = (
                commands.own_emulator(self.port) if self.cloud == "emulator" else contextlib.nullcontext()
            )
            with around:
                self._deploy_test_destroy(on_plan)
        finally:
            print(self.timer.table())

    def _deploy_test_destroy(self, on_plan: Callable[[dict], None]) -> None:
        session = commands.Session(
            target=self.target,
            cloud=connect(self.cloud, self.target.env.account_id),
            parallelism=self.parallelism,
            terraform=self.terraform,
            lock_timeout=self.lock_timeout,
        )
        failure: BaseException | None = None
        applied = False
        try:
            if self.cloud == "emulator":
                ui.info(self.stage("bootstrap", lambda: commands.bootstrap(session)))
            on_plan(self.stage("plan", lambda: commands.plan(session)))
            applied = True
            self.stage("apply", lambda: commands.apply(session))
            self.stage("converge", lambda: commands.converge(session))
            flat, _ = self.stage("outputs", lambda: commands.collect_outputs(session))
            ui.info(f"outputs written to {flat}")
            self.stage("test", lambda: commands.integration_tests(session))
            ui.info(self.stage("secrets", secrets.gate))
        except BaseException as exc:
            failure = exc
        if applied and not self.keep:
            try:
                self.stage("destroy", lambda: commands.destroy(session))
            except BaseException as exc:  # report both; the first failure wins
                ui.info(f"destroy failed too: {exc}")
                failure = failure or exc
        if failure is not None:
            raise failure
