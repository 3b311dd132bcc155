"""Where the CLI keeps its files (all relative to the repository root)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def workdir() -> Path:
    """Scratch space for logs, the emulator's state and Terraform's config."""
    path = Path(os.environ.get("TAP_WORKDIR", ROOT / ".tap"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def outdir() -> Path:
    """``$CDKTF_OUTDIR`` (default ``cdktf.out``), absolute: jsii resolves a relative one
    against its own working directory."""
    return Path(os.environ.get("CDKTF_OUTDIR") or ROOT / "cdktf.out").expanduser().absolute()


def outputs_dir() -> Path:
    return Path(os.environ.get("TAP_OUTPUTS_DIR", ROOT / "cfn-outputs"))


def logs_dir() -> Path:
    path = workdir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
