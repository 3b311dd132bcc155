"""``scripts/tap synth``: every stack of an environment instance into ``cdktf.out``, once, in one process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import Any

from lib.config import Target
from scripts.tapctl.core import paths
from scripts.tapctl.core.cloud import base_env
from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.stages import session


def synth(target: Target, only: str | None = None) -> dict[str, Any]:
    """Synthesize all stacks of ``target`` (or the subset ``only``) once, in one process."""
    out = paths.outdir()
    if shutil.which("node") is None:
        raise TapError("node not found on PATH: CDKTF's jsii runtime needs Node.js >= 18")
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)  # e.g. build/ on a fresh checkout
    env = base_env()
    env.update(
        ENVIRONMENT=target.env.name,
        ENVIRONMENT_SUFFIX=target.suffix,
        CDKTF_OUTDIR=str(out),
        TAP_STACKS=only or "",
    )
    log = paths.logs_dir() / f"{target.suffix}.synth.log"
    with log.open("wb") as fh:
        proc = subprocess.run(
            [sys.executable, str(paths.ROOT / "tap.py")],
            cwd=paths.ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-15:])
        raise StageFailed(f"synth failed (exit {proc.returncode}) [log: {log}]\n{tail}")
    return session.read_synth_metadata(target)


def command(target: Target, stacks: str | None) -> int:
    session.check_stacks(target, stacks)
    meta = synth(target, stacks)
    print(
        f"synthesized {', '.join(meta['stacks'])} for {target.env.name}/{target.suffix} into {paths.outdir()}"
    )
    return 0
