"""``scripts/tap check``: the test suite through tox.

scripts/tap check                       # tox -e lint,unit,e2e
scripts/tap check -e unit               # one environment (or a comma-separated list)
scripts/tap check -e e2e -- -k foo      # what follows ``--`` goes to pytest (tox posargs)
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

from scripts.tapctl.core import paths

DEFAULT_ENVLIST = "lint,unit,e2e"


def tox_command(envlist: str, posargs: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "tox", "-e", envlist, *(["--", *posargs] if posargs else [])]


def run(envlist: str, posargs: Sequence[str] = ()) -> int:
    return subprocess.run(tox_command(envlist, posargs), cwd=paths.ROOT, check=False).returncode
