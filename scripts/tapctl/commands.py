"""The pipeline stages. Each is one CLI command; ``pipeline`` chains them."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.config import Target
from scripts.tapctl import emulator, images, outputs, paths, ui
from scripts.tapctl.errors import StageFailed, TapError
from scripts.tapctl.parallel import StackResult, raise_on_failure, run_stacks
from scripts.tapctl.plans import PlanSummary, summarize
from scripts.tapctl.targets import Cloud, base_env
from scripts.tapctl.terraform import LOCK_TIMEOUT, Terraform, check_version, find_binary

SYNTH_METADATA = "tap-synth.json"  # written by lib.app.synth
PLAN_FILE = "tfplan"
PLAN_SUMMARY = "plan-summary.json"
#: A speculative plan's own file: read for plan.json/plan.txt, then deleted.
SPECULATIVE_PLAN_FILE = "speculative.tfplan"
#: Present in cdktf.out after `plan --speculative`: `apply` refuses to run.
SPECULATIVE_MARKER = "plan-speculative.json"


@dataclass
class Session:
    """One environment instance, one cloud, one synthesized ``cdktf.out``."""

    target: Target
    cloud: Cloud
    parallelism: int
    terraform: str = ""
    lock_timeout: str = LOCK_TIMEOUT

    @property
    def outdir(self) -> Path:
        return paths.outdir()

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def metadata(self) -> dict[str, Any]:
        return read_synth_metadata(self.target)

    @property
    def stacks(self) -> list[str]:
        return list(self.metadata()["stacks"])

    @property
    def deps(self) -> dict[str, list[str]]:
        return {s: m.get("depends_on", []) for s, m in self.metadata()["stacks"].items()}

    def tf(self, stack: str) -> Terraform:
        if not self.terraform:
            self.terraform = find_binary()
            check_version(self.terraform)
        log_name = f"{self.target.suffix}.{stack}"
        unlock = f"scripts/tap unlock -e {self.target.env.name} -s {self.target.suffix} --stack {stack}"
        return Terraform(
            self.terraform,
            self.stack_dir(stack),
            self.cloud.env,
            log_name,
            lock_timeout=self.lock_timeout,
            unlock_hint=unlock,
        )


# -- synth -----------------------------------------------------------------------


def synth(target: Target, only: str | None = None) -> dict[str, Any]:
    """Synthesize all stacks of ``target`` (or the subset ``only``) once, in one process."""
    out = paths.outdir()
    if shutil.which("node") is None:
        raise TapError("node not found on PATH: CDKTF's jsii runtime needs Node.js >= 18")
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)  # e.g. build/ on a fresh checkout
    env = base_env()
    env.update(
        ENVIRONMENT=target.env.name,
        ENVIRONMENT_SUFFIX=target.suffix,
        CDKTF_OUTDIR=str(out),
        TAP_STACKS=only or "",
    )
    log = paths.logs_dir() / f"{target.suffix}.synth.log"
    with log.open("wb") as fh:
        proc = subprocess.run(
            [sys.executable, str(paths.ROOT / "tap.py")],
            cwd=paths.ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-15:])
        raise StageFailed(f"synth failed (exit {proc.returncode}) [log: {log}]\n{tail}")
    return read_synth_metadata(target)


def read_synth_metadata(target: Target) -> dict[str, Any]:
    path = paths.outdir() / SYNTH_METADATA
    if not path.exists():
        raise TapError(f"{paths.outdir()} holds no synth output: run `scripts/tap synth` first")
    meta = json.loads(path.read_text())
    if (meta["environment"], meta["suffix"]) != (target.env.name, target.suffix):
        raise TapError(
            f"{paths.outdir()} was synthesized for {meta['environment']}/{meta['suffix']}, "
            f"not {target.env.name}/{target.suffix}: run `scripts/tap synth` for this environment"
        )
    return meta


# -- bootstrap -------------------------------------------------------------------


def bootstrap(session: Session) -> str:
    """Create the state bucket: versioned, encrypted, public access blocked."""
    import boto3

    state = session.target.env.state
    s3 = boto3.client("s3", region_name=state.region, **_boto_kwargs(session.cloud))
    try:
        s3.head_bucket(Bucket=state.bucket)
        created = False
    except s3.exceptions.ClientError:
        params: dict[str, Any] = {"Bucket": state.bucket}
        if state.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": state.region}
        s3.create_bucket(**params)
        created = True
    s3.put_bucket_versioning(Bucket=state.bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=state.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=state.bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    return f"{'created' if created else 'verified'} s3://{state.bucket} ({state.region})"


def _boto_kwargs(cloud: Cloud) -> dict[str, Any]:
    """boto3 clients in this process act like the child processes would."""
    if not cloud.is_emulator:
        return {}
    return {
        "endpoint_url": cloud.env["AWS_ENDPOINT_URL"],
        "aws_access_key_id": cloud.env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": cloud.env["AWS_SECRET_ACCESS_KEY"],
    }


# -- plan / apply / converge -----------------------------------------------------


def plan(session: Session, *, destroy: bool = False, speculative: bool = False) -> dict[str, PlanSummary]:
    """Plan every stack: ``tfplan`` for ``apply``, plus ``plan.json``, ``plan.txt`` and the summary.

    ``speculative`` (pull requests): no state lock (``-lock=false``) and no saved plan
    left behind, so it never makes an apply wait and can never be applied."""
    _mark_speculative(session.outdir, speculative)

    def one(stack: str) -> PlanSummary:
        tf = session.tf(stack)
        tf.init()
        stack_dir = session.stack_dir(stack)
        plan_file = SPECULATIVE_PLAN_FILE if speculative else PLAN_FILE
        tf.plan(plan_file, destroy=destroy, lock=not speculative)
        raw = tf.show_json(plan_file)
        (stack_dir / "plan.json").write_text(raw)
        (stack_dir / "plan.txt").write_text(tf.show_text(plan_file))
        if speculative:
            (stack_dir / plan_file).unlink(missing_ok=True)
        return summarize(stack, raw)

    results = run_stacks(
        "plan",
        session.stacks,
        session.deps,
        one,
        parallelism=session.parallelism,
        describe=PlanSummary.counts,
    )
    summaries = {s: r.value or PlanSummary(stack=s, error=r.error) for s, r in results.items()}
    (session.outdir / PLAN_SUMMARY).write_text(
        json.dumps({s: p.to_dict() for s, p in summaries.items()}, indent=2)
    )
    raise_on_failure("plan", results)
    return summaries


def _mark_speculative(outdir: Path, speculative: bool) -> None:
    """Record what kind of plan ``outdir`` holds; a speculative one drops any saved plan."""
    marker = outdir / SPECULATIVE_MARKER
    if not speculative:
        marker.unlink(missing_ok=True)
        return
    for saved in outdir.glob(f"stacks/*/{PLAN_FILE}"):
        saved.unlink()
    marker.write_text(json.dumps({"speculative": True, "lock": False}) + "\n", encoding="utf-8")


def apply(session: Session) -> dict[str, StackResult[None]]:
    if (session.outdir / SPECULATIVE_MARKER).exists():
        raise TapError(
            f"the plans in {session.outdir} are speculative (`scripts/tap plan --speculative`: made "
            "without the state lock, for review only) and cannot be applied; run `scripts/tap plan` "
            "and apply that plan"
        )
    missing = [s for s in session.stacks if not (session.stack_dir(s) / PLAN_FILE).exists()]
    if missing:
        raise TapError(f"no saved plan for {', '.join(missing)}: run `scripts/tap plan` first")

    def one(stack: str) -> None:
        tf = session.tf(stack)
        tf.init()
        # Container images the stack's functions use must exist before they are created.
        images.publish(session.cloud, session.metadata(), stack, log_name=f"{session.target.suffix}.{stack}")
        tf.apply(PLAN_FILE)

    results = run_stacks("apply", session.stacks, session.deps, one, parallelism=session.parallelism)
    raise_on_failure("apply", results)
    return results


def converge(session: Session) -> dict[str, PlanSummary]:
    """Plan again with ``-detailed-exitcode``: any change is drift."""

    def one(stack: str) -> PlanSummary:
        tf = session.tf(stack)
        tf.init()
        changed = tf.plan("converge.tfplan", detailed=True)
        summary = summarize(stack, tf.show_json("converge.tfplan")) if changed else PlanSummary(stack)
        if changed:
            addrs = ", ".join(f"{c.action} {c.address}" for c in summary.changes[:10])
            raise StageFailed(f"{stack} has changes after apply ({summary.counts()}): {addrs}")
        return summary

    results = run_stacks("converge", session.stacks, session.deps, one, parallelism=session.parallelism)
    raise_on_failure("converge", results)
    return {s: r.value for s, r in results.items() if r.value is not None}


# -- outputs / test --------------------------------------------------------------


def collect_outputs(session: Session) -> tuple[Path, Path]:
    def one(stack: str) -> str:
        tf = session.tf(stack)
        tf.init()
        return tf.output_json()

    results = run_stacks("outputs", session.stacks, {}, one, parallelism=session.parallelism)
    raise_on_failure("outputs", results)
    nested = outputs.nested_from_terraform({s: r.value or "{}" for s, r in results.items()})
    return outputs.write(nested, paths.outputs_dir())


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


# -- destroy ---------------------------------------------------------------------


def destroy(session: Session) -> dict[str, StackResult[str]]:
    """Destroy every stack (reverse dependency order) and remove its state.

    Idempotent: a stack with no state is a no-op; running it twice succeeds."""
    import boto3

    state = session.target.env.state
    s3 = boto3.client("s3", region_name=state.region, **_boto_kwargs(session.cloud))
    if not _bucket_exists(s3, state.bucket):
        ui.info(f"destroy  state bucket s3://{state.bucket} does not exist: nothing to destroy")
        return {}

    def one(stack: str) -> str:
        key = f"{session.target.suffix}/{stack}.tfstate"
        if not _object_exists(s3, state.bucket, key):
            return "no state: nothing to destroy"
        tf = session.tf(stack)
        tf.init()
        tf.destroy()
        removed = _delete_all_versions(s3, state.bucket, key)
        return f"destroyed; removed {removed} state object version(s)"

    results = run_stacks(
        "destroy",
        session.stacks,
        session.deps,
        one,
        parallelism=session.parallelism,
        reverse=True,
        describe=str,
    )
    raise_on_failure("destroy", results)
    return results


def _bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        return False
    return True


def _object_exists(s3: Any, bucket: str, key: str) -> bool:
    resp = s3.list_objects_v2(Bucket=bucket, Prefix=key)
    return any(o["Key"] == key for o in resp.get("Contents", []))


def _delete_all_versions(s3: Any, bucket: str, key: str) -> int:
    removed = 0
    for prefix in (key, f"{key}.tflock"):
        resp = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        for item in resp.get("Versions", []) + resp.get("DeleteMarkers", []):
            if item["Key"] == prefix:
                s3.delete_object(Bucket=bucket, Key=prefix, VersionId=item["VersionId"])
                removed += 1
    return removed


# -- the emulator around a run ---------------------------------------------------


@contextlib.contextmanager
def own_emulator(port: int | None = None) -> Iterator[emulator.EmulatorState]:
    """Use a running emulator, or start one and stop it afterwards, whatever happens."""
    existing = emulator.running()
    if existing is not None:
        ui.info(f"emulator already running on {existing.url} (pid {existing.pid}); reusing it")
        yield existing
        return
    t0 = time.monotonic()
    state = emulator.start(port)
    ui.info(f"emulator started on {state.url} (pid {state.pid}) in {time.monotonic() - t0:.1f}s")
    try:
        yield state
    finally:
        emulator.stop()
        ui.info("emulator stopped")


def default_parallelism() -> int:
    return int(os.environ.get("TAP_PARALLELISM", min(8, 3 * (os.cpu_count() or 1))))
