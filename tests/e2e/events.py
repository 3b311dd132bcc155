"""Helpers for the workflow event suites: run ``scripts/tap simulate`` (the YAML through
act) on one shared emulator and read back what GitHub and AWS would hold afterwards."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from lib.config import load_all
from scripts.tapctl import cli, emulator
from tests.e2e.conftest import E2E_STACKS

#: The stacks every simulated event deploys (one real system stack; $TAP_SIMULATE_STACKS).
STACKS = os.environ.get("TAP_SIMULATE_STACKS", E2E_STACKS)
#: lint and unit run for real through act only with TAP_EVENTS_FULL=1: the README's test
#: command already runs the very same `tox -e lint` / `tox -e unit` before this suite.
FULL = os.environ.get("TAP_EVENTS_FULL") == "1"


class Events:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.out = root / "sim"
        self.timings: dict[str, float] = {}

    def simulate(self, label: str, *argv: str, skip: str = "lint,unit") -> int:
        extra = ["--skip-jobs", skip] if skip and not FULL else []
        t0 = time.monotonic()
        code = cli.main(["simulate", *argv, "--stacks", STACKS, "--out", str(self.out), *extra])
        self.timings[label] = round(time.monotonic() - t0, 1)
        return code

    def last_label(self) -> str:
        return json.loads((self.out / "last-run.json").read_text())["label"]

    def jobs(self, label: str | None = None) -> dict[str, str]:
        rows = json.loads((self.out / f"jobs-{label or self.last_label()}.json").read_text())
        results: dict[str, str] = {}
        for row in rows:  # a matrix job reports once per entry: failure wins
            if results.get(row["job"]) != "failure":
                results[row["job"]] = row["result"]
        return results

    def run_dir(self, label: str | None = None) -> Path:
        return self.out / "runs" / (label or self.last_label())

    def credentials(self, label: str | None = None) -> list[dict[str, Any]]:
        path = self.run_dir(label) / "credentials.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def github(self) -> dict[str, Any]:
        return json.loads((self.out / "github.json").read_text())

    def comments(self, pr: int) -> list[dict[str, Any]]:
        return sorted(
            (c for c in self.github()["comments"].values() if c["issue"] == pr), key=lambda c: c["id"]
        )

    def issues(self) -> list[dict[str, Any]]:
        return list(self.github()["issues"].values())

    def client(self, service: str, env_name: str, region: str = "us-east-1") -> Any:
        state = emulator.running()
        assert state is not None, "emulator not running"
        creds = emulator.credentials_for(state, load_all()[env_name].account_id)
        return boto3.client(
            service,
            endpoint_url=state.url,
            region_name=region,
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        )

    def state_keys(self, env_name: str, prefix: str = "") -> list[str]:
        env = load_all()[env_name]
        resp = self.client("s3", env_name).list_objects_v2(Bucket=env.state.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in resp.get("Contents", []) if not o["Key"].endswith(".tflock"))

    def expected_keys(self, suffix: str) -> list[str]:
        return sorted(f"{suffix}/{s}.tfstate" for s in STACKS.split(","))


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Events]:
    root = tmp_path_factory.mktemp("events")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TAP_WORKDIR", str(root / "tap"))
        mp.setenv("CDKTF_OUTDIR", str(root / "cdktf.out"))
        mp.setenv("TAP_OUTPUTS_DIR", str(root / "cfn-outputs"))
        mp.delenv("TAP_CLOUD", raising=False)
        ev = Events(root)
        assert cli.main(["emulator", "start"]) == 0
        try:
            yield ev
        finally:
            emulator.stop()
            (root / "timings.json").write_text(json.dumps(ev.timings, indent=2))
            print("\nsimulated event timings (s):", json.dumps(ev.timings))
