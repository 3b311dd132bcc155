"""The peer the benchmark compares against: the stock cdktf-cli workflow.

``cdktf synth``, ``cdktf diff <stack>`` per stack, ``cdktf deploy '*'
--auto-approve``, ``cdktf output``, ``cdktf destroy '*' --auto-approve`` --
the sequence the usual CDKTF pipeline runs. cdktf-cli 0.21.0 comes from npm
and is installed into the benchmark's own folder when it is absent. The peer
writes into its own ``cdktf.out`` so it never touches ours; it uses the same
Terraform, CLI config, plugin cache and emulator.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.config import Target
from scripts.tapctl.core import paths
from scripts.tapctl.core.errors import StageFailed

CDKTF_CLI_VERSION = "0.21.0"
NPM_TIMEOUT = 600
#: ``terraform providers lock`` (which cdktf runs before diff/deploy/output/destroy)
#: asks the public registry for checksums and fails where only a provider mirror is
#: reachable; the lock file ``terraform init`` wrote from the mirror is kept instead.
OFFLINE = ("--no-color", "--skip-provider-lock")


@dataclass(frozen=True)
class CliLookup:
    """Where cdktf-cli is, or why it is not available (the column is then skipped)."""

    binary: str | None
    message: str


def installed_binary(folder: Path) -> Path:
    return folder / "node_modules" / ".bin" / "cdktf"


def cli_version(binary: str) -> str:
    """The ``x.y.z`` line of ``cdktf --version`` (it may print Terraform config warnings too)."""
    proc = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r"^(\d+\.\d+\.\d+)\s*$", proc.stdout, re.MULTILINE)
    return found.group(1) if proc.returncode == 0 and found else ""


def install(folder: Path) -> str | None:
    """``npm install cdktf-cli@0.21.0`` into ``folder``; the reason on failure, else None."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm not found on PATH: cannot install cdktf-cli"
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(folder)]
    try:
        proc = subprocess.run(
            [*cmd, f"cdktf-cli@{CDKTF_CLI_VERSION}"],
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"npm install cdktf-cli@{CDKTF_CLI_VERSION} timed out after {NPM_TIMEOUT}s"
    if proc.returncode != 0 or not installed_binary(folder).exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"npm install cdktf-cli@{CDKTF_CLI_VERSION} failed: {tail[0]}"
    return None


def ensure_cli(folder: Path, explicit: str | None = None, *, install_missing: bool = True) -> CliLookup:
    """Use ``explicit``, or cdktf-cli in ``folder``, installing it from npm if absent."""
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            return CliLookup(None, f"--cdktf {explicit} is not an executable file")
        return CliLookup(explicit, f"cdktf-cli {cli_version(explicit) or '?'} at {explicit}")
    binary = installed_binary(folder)
    if not binary.exists():
        problem = install(folder) if install_missing else "cdktf-cli is not installed (--no-install)"
        if problem:
            return CliLookup(None, problem)
    version = cli_version(str(binary))
    if version != CDKTF_CLI_VERSION:
        return CliLookup(None, f"{binary} reports version {version!r}, expected {CDKTF_CLI_VERSION}")
    return CliLookup(str(binary), f"cdktf-cli {version} at {binary}")


class CdktfPeer:
    """Runs cdktf-cli commands for one target with the app and outdir given explicitly."""

    def __init__(
        self,
        binary: str,
        target: Target,
        *,
        env: Mapping[str, str],
        outdir: Path,
        stacks: Sequence[str],
        log_dir: Path,
    ) -> None:
        self.binary = binary
        self.outdir = outdir
        self.stacks = list(stacks)
        self.log_dir = log_dir
        self.env = dict(env)
        self.env.update(
            ENVIRONMENT=target.env.name,
            ENVIRONMENT_SUFFIX=target.suffix,
            TAP_STACKS=",".join(self.stacks),
            CDKTF_OUTDIR=str(outdir),
            TF_PLUGIN_CACHE_DIR=str(paths.workdir() / "plugin-cache"),
            CI="1",  # no spinner
            FORCE_COLOR="0",
        )

    def _app(self) -> list[str]:
        return ["--app", f"{sys.executable} tap.py", "--output", str(self.outdir)]

    def run(self, name: str, args: Sequence[str]) -> None:
        log = self.log_dir / f"peer.{name}.log"
        cmd = [self.binary, *args, *self._app()]
        with log.open("wb") as fh:
            fh.write(("$ " + " ".join(cmd) + "\n").encode())
            fh.flush()
            proc = subprocess.run(
                cmd, cwd=paths.ROOT, env=self.env, stdout=fh, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, check=False,
            )  # fmt: skip
        if proc.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-10:])
            raise StageFailed(f"cdktf {args[0]} failed (exit {proc.returncode}) [log: {log}]\n{tail}")

    def synth(self) -> None:
        self.run("synth", ["synth"])

    def diff(self, stack: str) -> None:
        self.run(f"diff.{stack}", ["diff", stack, *OFFLINE])

    def deploy_all(self, parallelism: int) -> None:
        self.run("deploy", ["deploy", "*", "--auto-approve", *OFFLINE, f"--parallelism={parallelism}"])

    def deploy(self, stacks: Sequence[str], parallelism: int, *, name: str = "deploy") -> None:
        """``cdktf deploy`` of some stacks; their dependencies are already deployed."""
        self.run(
            name,
            ["deploy", *stacks, "--auto-approve", "--ignore-missing-stack-dependencies",
             *OFFLINE, f"--parallelism={parallelism}"],
        )  # fmt: skip

    def outputs_all(self, path: Path) -> dict[str, dict[str, Any]]:
        """``cdktf output`` of every stack -> ``{stack: {key: value}}``."""
        self.run("output", ["output", "*", "--outputs-file", str(path), *OFFLINE])
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        return {stack: dict(values) for stack, values in data.items()}

    def destroy_all(self, parallelism: int) -> None:
        self.run("destroy", ["destroy", "*", "--auto-approve", *OFFLINE, f"--parallelism={parallelism}"])
