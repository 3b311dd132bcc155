"""End-to-end fixtures: the CLI driven in-process against the embedded AWS.

Every test gets its own work directories (emulator state, cdktf.out, outputs)
and starts/stops its own emulator on a free loopback port.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from scripts.tapctl import cli
from scripts.tapctl.core import emulator_process
from tests import reliability_report

#: The stacks the step-by-step CLI, fault and event tests deploy: one real system stack
#: (bucket, table, four Lambdas, an API) that deploys in well under a minute.
E2E_STACKS = os.environ.get("TAP_E2E_STACKS", "file_processing")


def pytest_configure(config: pytest.Config) -> None:
    reliability_report.install(config)  # the `reliability` fixture -> build/reports/reliability.md


@pytest.fixture
def fault(reliability: reliability_report.Recorder) -> Callable[..., reliability_report.Record]:
    """Records a fault case of the reliability report: ``fault(case=..., input=..., rule=...)``."""
    return functools.partial(reliability.record, category="fault")


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tap = root / "tap"
        self.out = root / "cdktf.out"
        self.outputs = root / "cfn-outputs"

    def tap_cli(self, *argv: str) -> int:
        return cli.main(list(argv))

    def s3(self, account_id: str) -> object:
        state = emulator_process.running()
        assert state is not None, "emulator not running"
        creds = emulator_process.credentials_for(state, account_id)
        return boto3.client(
            "s3",
            endpoint_url=state.url,
            region_name="us-east-1",
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        )


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    ws = Workspace(tmp_path)
    monkeypatch.setenv("TAP_WORKDIR", str(ws.tap))
    monkeypatch.setenv("CDKTF_OUTDIR", str(ws.out))
    monkeypatch.setenv("TAP_OUTPUTS_DIR", str(ws.outputs))
    monkeypatch.delenv("TAP_CLOUD", raising=False)
    monkeypatch.setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        yield ws
    finally:
        emulator_process.stop()  # never leave a process behind, whatever the test did


# The workflow event suites share one emulator per module (tests/e2e/events.py).
from tests.e2e.events import events  # noqa: E402, F401
