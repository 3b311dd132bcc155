"""A tool in its own virtualenv, installed from a lock file pinned with hashes.

checkov (``scripts/tap scan``) and the benchmark's chart (matplotlib) each live in a
virtualenv of their own: their dependency pins would fight the project's. The venv is
``<tools>/<name>``, where ``<tools>`` is ``$TAP_TOOLS_DIR`` (kept between CI jobs by the
workflows' cache) or ``<workdir>/tools`` (``.tap/tools`` by default). It is installed on
first use with ``pip install --require-hashes --no-deps -r <lock>`` and stamped with the
lock's sha256; a changed lock installs it again from scratch. An exclusive file lock
(``<tools>/<name>.lock``) keeps two processes from installing the same venv at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from scripts.tapctl.core import paths, ui
from scripts.tapctl.core.errors import TapError

STAMP = ".tap-lock"


def tools_dir() -> Path:
    return Path(os.environ.get("TAP_TOOLS_DIR") or paths.workdir() / "tools")


def _lock_digest(lock: Path) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def _current(venv: Path, executable: str, want: str) -> bool:
    stamp = venv / STAMP
    return (venv / "bin" / executable).exists() and stamp.exists() and stamp.read_text() == want


def venv_path(name: str) -> Path:
    return tools_dir() / name


def installed(name: str, lock: Path, executable: str) -> bool:
    """Whether ``<tools>/<name>`` is there, installed from this ``lock``."""
    return _current(venv_path(name), executable, _lock_digest(lock))


def ensure(name: str, lock: Path, executable: str, *, install: bool = True) -> Path:
    """``<tools>/<name>/bin/<executable>``, installing the venv from ``lock`` if it is absent
    or was installed from another lock. With ``install=False`` a missing or stale venv is a
    :class:`TapError` instead. A failed install is a :class:`TapError` with pip's last words."""
    venv = venv_path(name)
    binary = venv / "bin" / executable
    want = _lock_digest(lock)
    if _current(venv, executable, want):
        return binary
    if not install:
        raise TapError(f"{name} is not installed in {venv}, and installing it was not allowed")
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{name}.lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # released when the file is closed
        if _current(venv, executable, want):  # another process installed it meanwhile
            return binary
        where = lock.relative_to(paths.ROOT) if lock.is_relative_to(paths.ROOT) else lock
        ui.info(f"installing {name} from {where} into {venv} (first run only)")
        if venv.exists():
            shutil.rmtree(venv)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        proc = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--require-hashes",
                "--no-deps",
                "-r",
                str(lock),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise TapError(f"installing {name} failed: {proc.stderr.strip()[-800:]}")
        (venv / STAMP).write_text(want)
    return binary
