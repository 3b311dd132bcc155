"""docs/emulator.md's behaviour table stays true: every behaviour the emulator claims
to provide (real or emulated) names a test that exists and exercises it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "emulator.md"
SECTION = "## What the systems rely on, and what the emulator does with it"
STATUSES = {"real", "emulated", "not emulated"}
REFERENCE = re.compile(r"^`(tests/[\w/]+\.py)::(test_\w+)`$")


def rows() -> list[list[str]]:
    text = DOC.read_text()
    assert SECTION in text, f"{DOC} lost its section {SECTION!r}"
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in body.splitlines() if ln.startswith("|")]
    header, rule, *table = lines
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "behaviour",
        "systems",
        "on the emulator",
        "test",
    ]
    assert set(rule.replace("|", "").replace("-", "").strip()) == set()
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in table]


def _functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def test_every_behaviour_has_a_status_and_what_backs_it():
    table = rows()
    assert len(table) >= 20
    for behaviour, systems, status, backing in table:
        assert behaviour
        assert systems
        assert status in STATUSES, f"{behaviour!r}: status {status!r} is not one of {sorted(STATUSES)}"
        if status == "not emulated":
            assert backing
            assert not REFERENCE.match(backing), f"{behaviour!r} is not emulated but names a test"
            continue
        match = REFERENCE.match(backing)
        assert match, f"{behaviour!r} ({status}) must name the test that exercises it as `path::test_name`"
        path, name = ROOT / match.group(1), match.group(2)
        assert path.is_file(), f"{behaviour!r}: {match.group(1)} does not exist"
        assert name in _functions_in(path), f"{behaviour!r}: {match.group(1)} has no test {name}"


def test_every_emulated_behaviour_has_a_test_on_a_real_emulator():
    """Unit tests named for an emulated behaviour start a real emulator server (no mock)."""
    for _behaviour, _systems, status, backing in rows():
        match = REFERENCE.match(backing)
        if status == "emulated" and match and match.group(1).startswith("tests/unit/"):
            source = (ROOT / match.group(1)).read_text()
            assert "running_emulator(" in source, f"{match.group(1)} does not run a real emulator"
