"""The full sequence: synth -> plan -> apply -> converge -> outputs -> test -> secrets -> destroy.

On the embedded AWS the emulator is started before and stopped after, also on
failure or Ctrl-C. Destroy runs whenever apply may have created something, so
a failed run leaves nothing behind; the first failure is re-raised at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lib.config import Target
from scripts.tapctl.core import emulator_process, ui
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages import (
    apply,
    converge,
    destroy,
    integration,
    outputs,
    plan,
    plans,
    secrets,
    state,
    synth,
)
from scripts.tapctl.stages.session import SessionOptions, check_stacks, open_session, preflight


@dataclass
class Pipeline:
    target: Target
    #: with the cloud decided (``--cloud``, else ``$TAP_CLOUD``, else the embedded AWS)
    options: SessionOptions
    terraform: str
    stacks: str | None = None
    port: int | None = None
    keep: bool = False
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
        ui.info(f"pipeline for {self.target.env.name}/{self.target.suffix} on {self.options.cloud}")
        try:
            self.stage("synth", lambda: synth.synth(self.target, self.stacks))
            around = (
                emulator_process.owned(self.port)
                if self.options.cloud == "emulator"
                else contextlib.nullcontext()
            )
            with around:
                self._deploy_test_destroy(on_plan)
        finally:
            print(self.timer.table())

    def _deploy_test_destroy(self, on_plan: Callable[[dict], None]) -> None:
        session = open_session(self.target, self.options, terraform=self.terraform)
        failure: BaseException | None = None
        applied = False
        try:
            if self.options.cloud == "emulator":
                ui.info(self.stage("bootstrap", lambda: state.bootstrap(session)))
            on_plan(self.stage("plan", lambda: plan.plan(session)))
            applied = True
            self.stage("apply", lambda: apply.apply(session))
            self.stage("converge", lambda: converge.converge(session))
            flat, _ = self.stage("outputs", lambda: outputs.collect(session))
            ui.info(f"outputs written to {flat}")
            self.stage("test", lambda: integration.integration_tests(session))
            ui.info(self.stage("secrets", secrets.gate))
        except BaseException as exc:
            failure = exc
        if applied and not self.keep:
            try:
                self.stage("destroy", lambda: destroy.destroy(session))
            except BaseException as exc:  # report both; the first failure wins
                ui.info(f"destroy failed too: {exc}")
                failure = failure or exc
        if failure is not None:
            raise failure


def command(
    target: Target, options: SessionOptions, *, stacks: str | None, port: int | None, keep: bool
) -> int:
    """``scripts/tap pipeline``: every precondition checked before the emulator starts."""
    cloud_kind = options.cloud_kind
    if keep and cloud_kind == "emulator":
        raise TapError("--keep only applies to --cloud aws: the emulator is stopped after the run")
    if cloud_kind == "aws" and not keep and not target.env.protection.destroy_allowed:
        raise TapError(
            f"environment {target.env.name!r} is protected: the pipeline's destroy stage would "
            "remove it; use --keep (or the deploy workflow) instead"
        )
    check_stacks(target, stacks)
    if port is not None and cloud_kind == "emulator" and emulator_process.running() is None:
        emulator_process.validate_port(port)
    Pipeline(
        target=target,
        options=dataclasses.replace(options, cloud=cloud_kind),
        terraform=preflight(),
        stacks=stacks,
        port=port,
        keep=keep,
    ).run(on_plan=lambda summaries: print(plans.table(summaries)))
    return 0
