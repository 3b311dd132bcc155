"""GitOps commands (PR comment, event simulation, janitor, drift, promotion check).

``register`` adds sub-commands to the CLI parser; each sets ``handler``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

ArgAdder = Callable[[argparse.ArgumentParser], None]


def register(sub: argparse._SubParsersAction, *, env_args: ArgAdder, cloud_args: ArgAdder) -> None:
    """Add the GitOps sub-commands. (Filled in by the workflows work.)"""
