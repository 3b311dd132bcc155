"""Shared unit-test fixtures.

``synth`` synthesizes one environment at most once per pytest worker (the
provider bindings cost ~12 s to import) and returns the parsed JSON of each
stack: ``synth("dev")["platform"]["resource"]["aws_vpc"]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lib.config import resolve_target
from tests import reliability_report

SynthFn = Callable[..., dict[str, dict[str, Any]]]


def pytest_configure(config: pytest.Config) -> None:
    reliability_report.install(config)  # the `reliability` fixture -> build/reports/reliability.md


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthFn:
    cache: dict[tuple[str, str | None], dict[str, dict[str, Any]]] = {}

    def _synth(env: str, suffix: str | None = None) -> dict[str, dict[str, Any]]:
        key = (env, suffix)
        if key not in cache:
            from lib.app import CiMetadata
            from lib.app import synth as synth_app

            target = resolve_target(env, suffix or ("pr7" if env == "pr" else None))
            out = tmp_path_factory.mktemp(f"synth-{env}")
            ci = CiMetadata(repository="acme/tap", author="ci-bot", pr_number="7", commit="abc123")
            synth_app(target, ci, out)
            cache[key] = {
                d.name: json.loads((d / "cdk.tf.json").read_text())
                for d in sorted((Path(out) / "stacks").iterdir())
            }
        return cache[key]

    return _synth


def resources(stack: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    """All resources of Terraform type ``rtype`` in a synthesized stack."""
    return stack.get("resource", {}).get(rtype, {})


def only(stack: dict[str, Any], rtype: str) -> dict[str, Any]:
    found = list(resources(stack, rtype).values())
    assert len(found) == 1, f"expected exactly one {rtype}, found {len(found)}"
    return found[0]
