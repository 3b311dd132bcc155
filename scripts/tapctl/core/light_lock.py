"""``requirements-light.lock``: the part of ``requirements.lock`` that jobs which only read
``environments/*.yaml`` need (``scripts/tap resolve``, ``promotion-check``, ...): the same
pins and hashes, no cdktf, provider bindings, boto3 or moto.

    python -m scripts.tapctl.core.light_lock > requirements-light.lock   # after the full lock changes

A unit test fails when the file on disk is not what this prints.
"""

from __future__ import annotations

import re
import sys

from scripts.tapctl.core import paths

#: What the light commands import (pydantic and its dependencies, PyYAML).
LIGHT_PACKAGES = (
    "annotated-types",
    "pydantic",
    "pydantic-core",
    "pyyaml",
    "typing-extensions",
    "typing-inspection",
)
#: The commands ``scripts/tap`` runs from the light venv (keep in step with scripts/tap).
LIGHT_COMMANDS = (
    "resolve",
    "promotion-check",
    "list-environments",
    "destroy-check",
    "approval-check",
    "env-for-branch",
    "drift-issues",
)
_ENTRY = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._-]*)==\S+ \\$")


def entries(lock: str) -> dict[str, list[str]]:
    """Package name -> its pin line and hash lines (comments dropped)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lock.splitlines():
        match = _ENTRY.match(line)
        if match:
            current = found.setdefault(match["name"], [line])
        elif current is not None and line.startswith("    --hash="):
            current.append(line)
        else:
            current = None
    return found


def render(lock: str) -> str:
    """The light lock: the full lock's index options, then the light packages' entries."""
    options = [
        ln for ln in lock.splitlines() if ln.startswith(("--extra-index-url", "--find-links", "--index-url"))
    ]
    table = entries(lock)
    missing = [p for p in LIGHT_PACKAGES if p not in table]
    if missing:
        raise SystemExit(f"requirements.lock has no {', '.join(missing)}")
    head = [
        "#",
        "# The light toolchain: the entries of requirements.lock (same pins and hashes) that",
        "# commands reading only environments/*.yaml need. Generated; do not edit:",
        "#    python -m scripts.tapctl.core.light_lock > requirements-light.lock",
        "#",
        *options,
        "",
    ]
    body = [line for name in LIGHT_PACKAGES for line in table[name]]
    return "\n".join([*head, *body]) + "\n"


def main() -> int:
    sys.stdout.write(render((paths.ROOT / "requirements.lock").read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
