"""The command line of ``scripts/tap`` and nothing else: the argument parser (``parser``,
``gitops_args``, ``argtypes``) and the one dispatch table from command name to the function
that runs it (``dispatch``), with ``main``, the entry point of ``python -m scripts.tapctl``
and of the ``tap`` console script (``scripts.tapctl.cli:main``). No command logic lives
here: every entry calls a function of ``stages``, ``gitops``, ``bench`` or ``core``.
"""

from scripts.tapctl.cli.dispatch import main

__all__ = ["main"]
