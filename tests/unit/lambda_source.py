"""Import a function's code from ``lib/lambda/<system>/<function>/`` in-process.

Each function directory is its own import root (as ``/var/task`` is in
Lambda), so its modules are imported fresh and removed again: two functions'
``handler`` modules never shadow each other within one test process.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

LAMBDA_ROOT = Path(__file__).resolve().parents[2] / "lib" / "lambda"


def _module_names(directory: Path) -> set[str]:
    return {p.stem for p in directory.glob("*.py")}


@contextmanager
def function_module(system: str, function: str, *, layers: tuple[str, ...] = ()) -> Iterator[ModuleType]:
    """The function's ``handler`` module (plus any layer directories on the path)."""
    roots = [LAMBDA_ROOT / system / function, *(LAMBDA_ROOT / system / layer for layer in layers)]
    names = set().union(*(_module_names(r) for r in roots))
    saved = {n: sys.modules.pop(n) for n in list(sys.modules) if n in names}
    sys.path[:0] = [str(r) for r in roots]
    try:
        yield importlib.import_module("handler")
    finally:
        for root in roots:
            sys.path.remove(str(root))
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
