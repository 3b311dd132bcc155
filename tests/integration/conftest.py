"""Integration tests run against deployed stacks, reading cfn-outputs/flat-outputs.json.

They use plain boto3: ``AWS_ENDPOINT_URL`` (set by ``scripts/tap test`` on the
embedded AWS) is honoured by boto3 itself, so no test has an emulator branch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from scripts.tapctl.stages.outputs import load_flat


def _outputs_path() -> Path:
    return Path(os.environ.get("TAP_OUTPUTS_FILE", "cfn-outputs/flat-outputs.json"))


def pytest_configure(config: pytest.Config) -> None:
    """Check the outputs file once, before xdist starts workers: one clear message."""
    if hasattr(config, "workerinput"):
        return
    try:
        load_flat(_outputs_path())
    except Exception as exc:
        raise pytest.UsageError(f"cannot run integration tests: {exc}") from None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first: the tests that mostly wait start before the quick ones, so under
    xdist (``--dist worksteal``) no worker is left with one long wait at the end."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("long_wait") else 1)


@pytest.fixture(scope="session")
def outputs() -> dict[str, Any]:
    path = _outputs_path()
    try:
        return load_flat(path)
    except Exception as exc:  # one clear message instead of a KeyError per test
        pytest.exit(f"cannot run integration tests: {exc}", returncode=4)


@pytest.fixture(scope="session")
def region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
