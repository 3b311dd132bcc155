"""tapctl: the one pipeline CLI. Workflows and people run the same commands.

Packages by concern, importing only downwards (docs/architecture.md, enforced by
tests/unit/test_architecture.py): ``cli`` -> ``bench`` -> ``gitops`` -> ``stages``
-> ``core``; ``emulator`` (the embedded AWS's server process) -> ``stages``/``core``.
"""
