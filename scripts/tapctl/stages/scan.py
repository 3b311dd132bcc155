"""Security scan of the synthesized Terraform with checkov.

``scripts/tap scan`` synthesizes every environment (one process: :func:`synth.run_app`), runs
checkov (``--framework terraform_json``) over each stack's ``cdk.tf.json``
with the project's ``.checkov.yaml`` (every skipped check has a written
reason there) and writes SARIF to ``.tap/scan/results.sarif``.
``scripts/tap scan --synthesized DIR`` scans a ``cdktf.out`` synthesized already (the deploy
workflow's synth artifact: the very JSON that is planned and applied, not a second synth).
checkov lives in its own virtualenv, installed from ``tools/checkov.lock``
(pinned with hashes) on first use by :mod:`scripts.tapctl.core.tool_venv`: its
dependency pins would fight the project's.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from lib.config import known_environments, resolve_target
from scripts.tapctl.core import paths, tool_venv, ui
from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.stages import synth

LOCK = paths.ROOT / "tools" / "checkov.lock"
CONFIG = paths.ROOT / ".checkov.yaml"


def checkov_binary() -> Path:
    # its own venv under $TAP_TOOLS_DIR (kept between CI jobs by the workflows' cache) or .tap/tools
    return tool_venv.ensure("checkov", LOCK, "checkov")


def scan(envs: list[str] | None = None) -> Path:
    known = known_environments()
    envs = envs or known
    unknown = [e for e in envs if e not in known]
    if unknown:
        raise TapError(f"unknown environment(s) {', '.join(unknown)}; known environments: {', '.join(known)}")
    out = paths.workdir() / "scan"
    if out.exists():
        shutil.rmtree(out)
    checkov = checkov_binary()
    ui.info(f"synthesizing {', '.join(envs)} for the scan (one process)")
    targets = [(resolve_target(name), out / "synth" / name) for name in envs]
    synth.run_app(targets, None, paths.logs_dir() / "scan.synth.log")
    files = sorted((out / "synth").glob("*/stacks/*/cdk.tf.json"))
    return run_checkov(checkov, files, out)


def scan_synthesized(outdir: Path) -> Path:
    """checkov over the stacks of one synthesized ``cdktf.out`` (no synth of its own)."""
    files = sorted(outdir.glob("stacks/*/cdk.tf.json"))
    if not files:
        raise TapError(
            f"--synthesized {outdir}: no stacks/*/cdk.tf.json there; give the directory "
            "`scripts/tap synth` wrote (its CDKTF_OUTDIR, e.g. the synth job's build/cdktf.out)"
        )
    out = paths.workdir() / "scan"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return run_checkov(checkov_binary(), files, out)


def run_checkov(checkov: Path, files: list[Path], out: Path) -> Path:
    """checkov over ``files``; SARIF to ``out/results.sarif``; failed checks raise :class:`StageFailed`."""
    if not files:
        raise StageFailed("nothing to scan: no cdk.tf.json was synthesized")
    ui.info(f"checkov over {len(files)} stack file(s)")
    sarif = out / "results.sarif"
    cmd = [
        str(checkov),
        "--config-file",
        str(CONFIG),
        "--framework",
        "terraform_json",
        "--output",
        "cli",
        "--output",
        "sarif",
        "--output-file-path",
        f"console,{sarif}",
        "--compact",
        "--quiet",
    ]
    for f in files:
        cmd += ["-f", str(f)]
    result = subprocess.run(cmd, cwd=paths.ROOT, check=False)
    if result.returncode != 0:
        raise StageFailed(
            f"checkov reported failed checks (SARIF: {sarif}); fix them or add a "
            f"skip with a written reason to {CONFIG.name}"
        )
    return sarif


def command(envs: list[str], synthesized: Path | None = None) -> int:
    if synthesized is not None and envs:
        raise TapError(
            f"scan: give environments ({', '.join(envs)}) or --synthesized {synthesized}, not both: "
            "--synthesized scans what was synthesized already"
        )
    print(f"SARIF: {scan_synthesized(synthesized) if synthesized is not None else scan(envs)}")
    return 0
