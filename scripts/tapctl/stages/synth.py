"""``scripts/tap synth``: every stack of an environment instance into ``cdktf.out``, once, in one process.

``--also ENV[/SUFFIX]=DIR`` synthesizes more targets in that same process (the PR workflow's
base environment and ephemeral environment; the scan's every environment): loading the
provider bindings is most of a synth's time, and it is paid once.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lib.config import Target
from scripts.tapctl.core import paths
from scripts.tapctl.core.cloud import base_env
from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.stages import session

#: A target and the directory it is synthesized into.
Into = tuple[Target, Path]


def run_app(targets: Sequence[Into], only: str | None, log: Path) -> None:
    """``tap.py`` in one child process: the first target from its environment variables, the
    others as ``--also``. Each directory is emptied first; a failure shows the log's tail."""
    if shutil.which("node") is None:
        raise TapError("node not found on PATH: CDKTF's jsii runtime needs Node.js >= 18")
    outdirs = [out.expanduser().absolute() for _, out in targets]
    shared = sorted({str(out) for out in outdirs if outdirs.count(out) > 1})
    if shared:
        raise TapError(f"synth: each target needs its own directory; {', '.join(shared)} is given twice")
    for out in outdirs:
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)  # e.g. build/ on a fresh checkout
    (first, _), *rest = targets
    env = base_env()
    env.update(
        ENVIRONMENT=first.env.name,
        ENVIRONMENT_SUFFIX=first.suffix,
        CDKTF_OUTDIR=str(outdirs[0]),
        TAP_STACKS=only or "",
    )
    also = [f"--also={t.env.name}/{t.suffix}={out}" for (t, _), out in zip(rest, outdirs[1:], strict=True)]
    with log.open("wb") as fh:
        proc = subprocess.run(
            [sys.executable, str(paths.ROOT / "tap.py"), *also],
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


def synth(target: Target, only: str | None = None, also: Sequence[Into] = ()) -> dict[str, Any]:
    """Synthesize all stacks of ``target`` (or the subset ``only``) into ``cdktf.out``, and each
    of ``also`` into its directory, in one process; the metadata of ``target``'s synth."""
    run_app([(target, paths.outdir()), *also], only, paths.logs_dir() / f"{target.suffix}.synth.log")
    return session.read_synth_metadata(target)


def command(target: Target, stacks: str | None, also: Sequence[Into] = ()) -> int:
    session.check_stacks(target, stacks)
    for extra, _ in also:
        session.check_stacks(extra, stacks)
    meta = synth(target, stacks, also)
    print(
        f"synthesized {', '.join(meta['stacks'])} for {target.env.name}/{target.suffix} into {paths.outdir()}"
    )
    for extra, out in also:
        names = session.read_synth_metadata(extra, out.expanduser().absolute())["stacks"]
        print(f"synthesized {', '.join(names)} for {extra.env.name}/{extra.suffix} into {out}")
    return 0
