"""Which commit a command reports or binds to.

A job may check out another ref than the one that started the workflow (the
drift job checks out each environment's branch while ``$GITHUB_SHA`` is the
default branch's), so the work tree itself is asked first where that matters.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from scripts.tapctl.core import paths

_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def checkout_head(cwd: Path | None = None) -> str | None:
    """``git rev-parse HEAD`` of the work tree, or None when git is missing or fails."""
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd or paths.ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = proc.stdout.strip()
    return sha if proc.returncode == 0 and _SHA.fullmatch(sha) else None


def checked_out(environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> str | None:
    """The commit of the files this job works on: the work tree's HEAD, else ``$GITHUB_SHA``."""
    return checkout_head(cwd) or environ.get("GITHUB_SHA") or None


def of_run(environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> str | None:
    """The commit a run is about: ``$TAP_COMMIT``, else ``$GITHUB_SHA``, else the work tree's HEAD."""
    return environ.get("TAP_COMMIT") or environ.get("GITHUB_SHA") or checkout_head(cwd)
