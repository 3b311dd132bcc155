"""``scripts/tap test``: ``tests/integration`` with pytest-xdist against the outputs file."""

from __future__ import annotations

import subprocess
import sys

from scripts.tapctl.core import paths
from scripts.tapctl.core.errors import StageFailed
from scripts.tapctl.stages import outputs
from scripts.tapctl.stages.session import Session


def integration_tests(session: Session, *, workers: str = "auto", extra: list[str] | None = None) -> None:
    flat = paths.outputs_dir() / "flat-outputs.json"
    outputs.load_flat(flat)  # one clear error instead of dozens of KeyErrors
    env = dict(session.cloud.env)
    env.update(
        TAP_OUTPUTS_FILE=str(flat),
        TAP_ENVIRONMENT=session.target.env.name,
        TAP_SUFFIX=session.target.suffix,
        AWS_DEFAULT_REGION=session.target.env.region,
    )
    junit = paths.outputs_dir() / "integration-junit.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(paths.ROOT / "tests" / "integration"),
        "-n",
        workers,
        *(["--dist", "worksteal"] if workers != "0" else []),
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
        *(extra or []),
    ]
    proc = subprocess.run(cmd, cwd=paths.ROOT, env=env, check=False)
    if proc.returncode != 0:
        raise StageFailed(f"integration tests failed (pytest exit {proc.returncode}); report: {junit}")


def command(session: Session, *, workers: str) -> int:
    integration_tests(session, workers=workers)
    return 0
