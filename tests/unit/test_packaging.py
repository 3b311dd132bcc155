"""The project is declared in pyproject.toml and the lock is compiled from it: every
direct dependency is pinned in requirements.lock within its declared range, and no
path of the machine that compiled the locks is left in them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", re.MULTILINE)


def pins(lock: Path) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(lock.read_text())}


def test_every_declared_dependency_is_pinned_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = pins(ROOT / "requirements.lock")
    assert project["scripts"]["tap"] == "scripts.tapctl.cli:main"
    for text in project["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is declared but not in requirements.lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {requirement.name}=={locked[name]}, outside {requirement.specifier}"
        )


def test_the_locks_are_compiled_from_pyproject_and_name_no_machine_path():
    full = (ROOT / "requirements.lock").read_text()
    assert "--output-file=requirements.lock --strip-extras pyproject.toml" in full
    for lock in ("requirements.lock", "requirements-light.lock", "tools/checkov.lock"):
        text = (ROOT / lock).read_text()
        for option in ("--extra-index-url", "--index-url", "--find-links", "file://"):
            assert option not in text, f"{lock} names {option}: a path or index of the compiling machine"
