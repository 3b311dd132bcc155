"""Point the CLI's output directories somewhere else for a block of work.

``paths.outdir()`` and ``paths.outputs_dir()`` read ``CDKTF_OUTDIR`` and
``TAP_OUTPUTS_DIR`` on every call, so a simulation (or the janitor) that works
on several environments in one process gives each its own ``cdktf.out`` and
outputs directory, exactly as separate CI jobs would have.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def scoped(root: Path) -> Iterator[Path]:
    """Use ``root/cdktf.out`` and ``root/cfn-outputs`` inside the block."""
    saved = {k: os.environ.get(k) for k in ("CDKTF_OUTDIR", "TAP_OUTPUTS_DIR")}
    root.mkdir(parents=True, exist_ok=True)
    os.environ["CDKTF_OUTDIR"] = str(root / "cdktf.out")
    os.environ["TAP_OUTPUTS_DIR"] = str(root / "cfn-outputs")
    try:
        yield root
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
