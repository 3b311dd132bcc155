"""The CLI's packages import only downwards (docs/architecture.md).

Every module under ``scripts/tapctl`` is read with :mod:`ast` (imports at module
level and inside functions alike) and mapped to its package, the first folder under
``scripts/tapctl``. The test fails on an import cycle between modules, an import
against the allowed arrows, and an import of another module's private (``_name``) name.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TAPCTL = ROOT / "scripts" / "tapctl"
PREFIX = "scripts.tapctl"

#: package -> the packages its modules may import (a package may always import itself).
#: cli -> bench -> gitops -> stages -> core; emulator -> stages, core. Nothing imports cli.
ALLOWED: dict[str, frozenset[str]] = {
    "cli": frozenset({"bench", "gitops", "stages", "core"}),
    "bench": frozenset({"gitops", "stages", "core"}),
    "gitops": frozenset({"stages", "core"}),
    "emulator": frozenset({"stages", "core"}),
    "stages": frozenset({"core"}),
    "core": frozenset(),
}
#: Top-level modules of scripts/tapctl and the package each belongs to.
TOP_LEVEL = {PREFIX: "core", f"{PREFIX}.__main__": "cli"}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a name imported from a module counts as that module)
    line: int
    private: str | None = None  # a `_name` imported or read from the target module


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(TAPCTL.rglob("*.py"))}


def package_of(module: str) -> str:
    if module in TOP_LEVEL:
        return TOP_LEVEL[module]
    package = module.split(".")[2]
    assert package in ALLOWED, f"{module}: package {package!r} has no entry in ALLOWED"
    return package


def _absolute(node: ast.ImportFrom, source: str) -> str:
    if node.level == 0:
        return node.module or ""
    is_package = modules()[source].name == "__init__.py"
    base = source.split(".")[: len(source.split(".")) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(source: str, text: str | None = None) -> list[Import]:
    """Every import of a scripts.tapctl module in ``source`` (its file, or ``text``), and every
    private name it takes from one."""
    tree = ast.parse(modules()[source].read_text(encoding="utf-8") if text is None else text)
    found: list[Import] = []
    bound: dict[str, str] = {}  # local name -> the scripts.tapctl module it names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PREFIX) and alias.name in modules():
                    found.append(Import(source, alias.name, node.lineno))
                    if alias.asname:
                        bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, source)
            if not base.startswith(PREFIX):
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in modules():  # `from package import module`
                    found.append(Import(source, submodule, node.lineno))
                    bound[alias.asname or alias.name] = submodule
                else:  # `from module import name`
                    private = alias.name if _is_private(alias.name) else None
                    found.append(Import(source, base, node.lineno, private))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and _is_private(node.attr)
        ):
            found.append(Import(source, bound[node.value.id], node.lineno, node.attr))
    return found


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def all_imports() -> list[Import]:
    return [imp for source in modules() for imp in imports_of(source) if imp.target in modules()]


def where(imp: Import) -> str:
    return f"{modules()[imp.source].relative_to(ROOT)}:{imp.line}"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of modules larger than one (or importing itself), as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges.get(node, ()):
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_belongs_to_a_known_package():
    assert len(modules()) > 50, f"found only {len(modules())} modules under {TAPCTL}"
    for module in modules():
        package_of(module)  # fails naming a folder missing from ALLOWED


def test_every_package_says_what_it_owns():
    for init in sorted(TAPCTL.glob("*/__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring, f"{init.relative_to(ROOT)} has no docstring saying what the package owns"


def test_no_import_cycle_between_modules():
    edges: dict[str, set[str]] = {}
    for imp in all_imports():
        if imp.target != imp.source:
            edges.setdefault(imp.source, set()).add(imp.target)
    found = cycles(edges)
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(group) for group in found)


def test_imports_follow_the_allowed_arrows():
    wrong = []
    for imp in all_imports():
        source, target = package_of(imp.source), package_of(imp.target)
        if source != target and target not in ALLOWED[source]:
            wrong.append(
                f"{where(imp)}: {imp.source} imports {imp.target} ({source} -> {target} is not an allowed "
                f"arrow; {source} may import {', '.join(sorted(ALLOWED[source])) or 'nothing'})"
            )
    assert not wrong, "upward or sideways imports:\n" + "\n".join(wrong)


def test_no_module_takes_a_private_name_of_another():
    wrong = [
        f"{where(imp)}: {imp.source} uses {imp.target}.{imp.private}"
        for imp in all_imports()
        if imp.private and imp.target != imp.source
    ]
    assert not wrong, "private names used across modules:\n" + "\n".join(wrong)


def test_the_arrows_themselves_have_no_cycle():
    edges = {package: set(allowed) for package, allowed in ALLOWED.items()}
    assert cycles(edges) == []
    assert not any("cli" in allowed for allowed in ALLOWED.values()), "nothing imports cli"


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        ("scripts.tapctl.stages.plan", "from scripts.tapctl.gitops import github\n", ["gitops"]),
        ("scripts.tapctl.core.ui", "def f():\n    from scripts.tapctl.stages import plans\n", ["stages"]),
        ("scripts.tapctl.stages.plan", "from scripts.tapctl.stages.session import _x\n", ["_x"]),
        ("scripts.tapctl.stages.plan", "from scripts.tapctl.core import paths\npaths._y\n", ["core", "_y"]),
        ("scripts.tapctl.gitops.act.events", "from .runner import Run\n", ["gitops"]),
    ],
)
def test_the_reader_sees_function_level_imports_and_private_names(source, text, expected):
    found = imports_of(source, text)
    assert [imp.private or package_of(imp.target) for imp in found] == expected
