"""``scripts/tap check``: the test suite through tox.

scripts/tap check                       # tox -e lint,unit,e2e
scripts/tap check -e unit               # one environment (or a comma-separated list)
scripts/tap check -e e2e -- -k foo      # what follows ``--`` goes to pytest (tox posargs)
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from scripts.tapctl import paths

DEFAULT_ENVLIST = "lint,unit,e2e"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help=f"the whole test suite: tox -e {DEFAULT_ENVLIST}",
        description="run the test suite through tox; what follows `--` goes to pytest "
        "(tox posargs), e.g. `scripts/tap check -e e2e -- -k drift`",
    )
    p.add_argument(
        "-e",
        "--envlist",
        default=DEFAULT_ENVLIST,
        help="comma-separated tox environments (default: %(default)s)",
    )
    p.add_argument("posargs", nargs="*", metavar="-- PYTEST_ARGS", help="passed to pytest through tox")
    p.set_defaults(handler=run)


def tox_command(args: argparse.Namespace) -> list[str]:
    posargs = ["--", *args.posargs] if args.posargs else []
    return [sys.executable, "-m", "tox", "-e", args.envlist, *posargs]


def run(args: argparse.Namespace) -> int:
    return subprocess.run(tox_command(args), cwd=paths.ROOT, check=False).returncode
