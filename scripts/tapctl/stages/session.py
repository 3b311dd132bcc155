"""What every Terraform stage works in: one environment instance, one cloud, one synthesized ``cdktf.out``.

The target comes from :func:`lib.config.resolve_target` (the one resolver);
:class:`SessionOptions` are the cloud options a command was given; :func:`ready_session`
checks Terraform and the synth output, then connects: each stage command starts there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from lib.config import Target
from lib.stacks import select_stacks
from scripts.tapctl.core import paths
from scripts.tapctl.core.cloud import Cloud, connect, default_cloud
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.core.terraform import LOCK_TIMEOUT, Terraform
from scripts.tapctl.core.terraform_setup import check_version, find_binary
from scripts.tapctl.stages import parallel

T = TypeVar("T")
SYNTH_METADATA = "tap-synth.json"  # written by lib.app.synth


def check_stacks(target: Target, only: str | None) -> None:
    """Refuse a ``--stacks`` subset naming a stack the environment does not have."""
    try:
        select_stacks(target, only)
    except ValueError as exc:
        raise TapError(f"--stacks: {exc}") from None


def default_parallelism() -> int:
    return int(os.environ.get("TAP_PARALLELISM", min(8, 3 * (os.cpu_count() or 1))))


def read_synth_metadata(target: Target, outdir: Path | None = None) -> dict[str, Any]:
    """What ``scripts/tap synth`` recorded in ``outdir`` (default ``cdktf.out``), which must
    have been synthesized for ``target``."""
    out = outdir or paths.outdir()
    path = out / SYNTH_METADATA
    if not path.exists():
        raise TapError(f"{out} holds no synth output: run `scripts/tap synth` first")
    meta = json.loads(path.read_text())
    if (meta["environment"], meta["suffix"]) != (target.env.name, target.suffix):
        raise TapError(
            f"{out} was synthesized for {meta['environment']}/{meta['suffix']}, "
            f"not {target.env.name}/{target.suffix}: run `scripts/tap synth` for this environment"
        )
    return meta


def preflight() -> str:
    """The Terraform binary, found and version-checked before anything runs."""
    binary = find_binary()
    check_version(binary)
    return binary


@dataclass(frozen=True)
class SessionOptions:
    """The cloud options of a command: ``--cloud``, ``-j/--parallelism``, ``--lock-timeout``."""

    cloud: str | None = None
    parallelism: int = field(default_factory=default_parallelism)
    lock_timeout: str = LOCK_TIMEOUT

    @property
    def cloud_kind(self) -> str:
        """``--cloud``, else ``$TAP_CLOUD``, else the embedded AWS."""
        return self.cloud or default_cloud()


@dataclass
class Session:
    """One environment instance, one cloud, one synthesized ``cdktf.out``."""

    target: Target
    cloud: Cloud
    options: SessionOptions = field(default_factory=SessionOptions)
    terraform: str = ""
    #: ``--stacks``: the subset of the synthesized stacks this command acts on (None: all)
    only: tuple[str, ...] | None = None

    def select(self, stacks: str | None) -> Session:
        """Act on ``stacks`` (comma-separated; None or empty: every synthesized stack)."""
        names = tuple(s.strip() for s in (stacks or "").split(",") if s.strip())
        if not names:
            return self
        synthesized = list(self.metadata()["stacks"])
        unknown = [s for s in names if s not in synthesized]
        if unknown:
            raise TapError(
                f"--stacks: {', '.join(unknown)} not synthesized for {self.target.name}/"
                f"{self.target.suffix} (synthesized: {', '.join(synthesized)})"
            )
        self.only = names
        return self

    @property
    def outdir(self) -> Path:
        return paths.outdir()

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def metadata(self) -> dict[str, Any]:
        return read_synth_metadata(self.target)

    @property
    def stacks(self) -> list[str]:
        synthesized = list(self.metadata()["stacks"])
        return synthesized if self.only is None else [s for s in synthesized if s in self.only]

    @property
    def deps(self) -> dict[str, list[str]]:
        return {s: m.get("depends_on", []) for s, m in self.metadata()["stacks"].items()}

    def tf(self, stack: str) -> Terraform:
        if not self.terraform:
            self.terraform = preflight()
        log_name = f"{self.target.suffix}.{stack}"
        unlock = f"scripts/tap unlock -e {self.target.env.name} -s {self.target.suffix} --stack {stack}"
        return Terraform(
            self.terraform,
            self.stack_dir(stack),
            self.cloud.env,
            log_name,
            lock_timeout=self.options.lock_timeout,
            unlock_hint=unlock,
        )

    def run_stacks(
        self,
        stage: str,
        fn: Callable[[str], T],
        *,
        ordered: bool = True,
        reverse: bool = False,
        describe: Callable[[T], str] | None = None,
    ) -> dict[str, parallel.StackResult[T]]:
        """:func:`~scripts.tapctl.stages.parallel.run_stacks` over this session's stacks, at most
        ``parallelism`` at once: each after its dependencies (``reverse``: after its dependents),
        or in no order when not ``ordered``."""
        deps = self.deps if ordered else {}
        return parallel.run_stacks(
            stage,
            self.stacks,
            deps,
            fn,
            parallelism=self.options.parallelism,
            reverse=reverse,
            describe=describe,
        )

    def state_client(self) -> Any:
        """An S3 client for the environment's state bucket, on this session's cloud."""
        return self.cloud.client("s3", self.target.env.state.region)


def open_session(target: Target, options: SessionOptions, *, terraform: str = "") -> Session:
    """Connect to the cloud ``options`` name, acting in the target's account."""
    cloud = connect(options.cloud_kind, target.env.account_id)
    return Session(target=target, cloud=cloud, options=options, terraform=terraform)


def ready_session(target: Target, options: SessionOptions) -> Session:
    """Terraform checked, the synth output this target's, then connected: before any stage runs."""
    binary = preflight()
    read_synth_metadata(target)
    return open_session(target, options, terraform=binary)
