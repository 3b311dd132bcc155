"""The janitor: find ephemeral environments in the state bucket and destroy the stale ones.

An ephemeral environment exists while its state objects do
(``s3://<bucket>/pr<N>/<stack>.tfstate``). It is destroyed when its pull
request is no longer open, or when its last deploy (the newest state write) is
older than ``ephemeral.ttl_hours`` in ``environments/pr.yaml``: an abandoned
PR loses its environment, an active one keeps it (each push redeploys).
``scripts/tap janitor`` lists them, decides, destroys and reports in Markdown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lib.config import PLACEHOLDER_SUFFIX, Environment, parse_state_key, resolve_target
from scripts.tapctl.core import outdirs, paths, ui
from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.gitops import github, promotion
from scripts.tapctl.stages import destroy, state, synth
from scripts.tapctl.stages.session import (
    Session,
    SessionOptions,
    open_session,
    preflight,
)

_PR_NUMBER = re.compile(r"(\d+)$")
EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass
class EphemeralEnv:
    suffix: str
    stacks: list[str] = field(default_factory=list)
    last_write: datetime = EPOCH

    @property
    def pr(self) -> int | None:
        match = _PR_NUMBER.search(self.suffix)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Verdict:
    env: EphemeralEnv
    destroy: bool
    reason: str


def list_ephemeral(s3: Any, bucket: str, suffix_pattern: str) -> list[EphemeralEnv]:
    """Every ``<suffix>/<stack>.tfstate`` whose suffix matches the template's pattern."""
    found: dict[str, EphemeralEnv] = {}
    pattern = re.compile(suffix_pattern)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            parsed = parse_state_key(obj["Key"])
            if parsed is None or not pattern.fullmatch(parsed[0]):
                continue
            suffix, stack = parsed
            env = found.setdefault(suffix, EphemeralEnv(suffix))
            env.stacks.append(stack)
            env.last_write = max(env.last_write, obj["LastModified"])
    return sorted(found.values(), key=lambda e: (e.pr or 0, e.suffix))


def decide(
    envs: Iterable[EphemeralEnv], *, open_prs: set[int] | None, ttl_hours: int, now: datetime
) -> list[Verdict]:
    """Destroy when the PR is not open (if known) or the last deploy is older than the TTL."""
    ttl = timedelta(hours=ttl_hours)
    verdicts = []
    for env in envs:
        age = now - env.last_write
        hours = age.total_seconds() / 3600
        if open_prs is not None and env.pr not in open_prs:
            verdicts.append(Verdict(env, True, f"pull request #{env.pr} is not open"))
        elif age > ttl:
            verdicts.append(
                Verdict(env, True, f"last deployed {hours:.1f} h ago, over the {ttl_hours} h TTL")
            )
        else:
            verdicts.append(Verdict(env, False, f"PR open, last deployed {hours:.1f} h ago"))
    return verdicts


def sweep(
    session_for: Callable[[str], Session],
    template: Environment,
    verdicts: list[Verdict],
    *,
    workroot: Path | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Destroy every environment a verdict condemns; return ``{suffix: outcome}`` and the
    suffixes that could not be destroyed.

    Each one is synthesized (only the stacks that have state) into its own
    directory and destroyed with its state; one failure does not stop the others.
    """
    workroot = workroot or paths.workdir() / "janitor"
    outcomes: dict[str, str] = {}
    failures: list[str] = []
    for verdict in (v for v in verdicts if v.destroy):
        env = verdict.env
        unknown = sorted(set(env.stacks) - set(template.stacks))
        stacks = [s for s in template.stacks if s in env.stacks]
        try:
            if unknown:
                raise StageFailed(
                    f"state for stack(s) {', '.join(unknown)} has no code in this branch: "
                    "destroy them by hand (`terraform destroy` in a checkout that still has them)"
                )
            with outdirs.scoped(workroot / env.suffix):
                target = resolve_target(template.name, env.suffix)
                synth.synth(target, ",".join(stacks))
                destroy.destroy(session_for(env.suffix))
            outcomes[env.suffix] = f"destroyed ({verdict.reason})"
        except StageFailed as exc:
            outcomes[env.suffix] = f"FAILED: {exc}"
            failures.append(env.suffix)
        ui.info(f"janitor  {env.suffix:<10} {outcomes[env.suffix]}")
    return outcomes, failures


def now_utc() -> datetime:
    return datetime.now(UTC)


def run(
    session: Session,
    *,
    open_prs: set[int] | None,
    now: datetime,
    dry_run: bool,
    session_for: Callable[[str], Session],
    workroot: Path | None = None,
) -> str:
    """List ephemeral environments in the template's state bucket, decide, destroy; report."""
    template = session.target.env
    if template.ephemeral is None:
        raise TapError(f"environment {template.name!r} is not an ephemeral template")
    bucket = template.state.bucket
    s3 = session.state_client()
    envs = (
        list_ephemeral(s3, bucket, template.ephemeral.suffix_pattern)
        if state.bucket_exists(s3, bucket)
        else []
    )
    verdicts = decide(envs, open_prs=open_prs, ttl_hours=template.ephemeral.ttl_hours, now=now)
    lines = ["### Ephemeral environments", ""]
    if not verdicts:
        lines.append(f"No ephemeral environments in s3://{bucket}.")
    for v in verdicts:
        action = ("would destroy" if dry_run else "destroy") if v.destroy else "keep"
        lines.append(f"- `{v.env.suffix}` ({', '.join(v.env.stacks)}): **{action}** — {v.reason}")
    outcomes, failures = ({}, []) if dry_run else sweep(session_for, template, verdicts, workroot=workroot)
    for suffix, outcome in outcomes.items():
        lines.append(f"- `{suffix}`: {outcome}")
    text = "\n".join(lines) + "\n"
    if failures:
        raise StageFailed(f"janitor could not destroy {', '.join(failures)}; see the lines below\n{text}")
    return text


def command(
    options: SessionOptions,
    *,
    open_prs: set[int] | None,
    repository: str | None,
    now: datetime | None,
    dry_run: bool,
    report: Path | None,
) -> int:
    """Open PRs from ``open_prs`` or, with ``repository``, from the GitHub API ($GITHUB_TOKEN)."""
    template = promotion.ephemeral_template()
    if repository is not None:
        open_prs = github.open_pull_requests(
            github.validate_repository(repository), token=os.environ.get("GITHUB_TOKEN")
        )
    binary = "" if dry_run else preflight()

    def session_for(suffix: str) -> Session:
        return open_session(resolve_target(template.name, suffix), options, terraform=binary)

    text = run(
        session_for(PLACEHOLDER_SUFFIX),
        open_prs=open_prs,
        now=now or now_utc(),
        dry_run=dry_run,
        session_for=session_for,
    )
    print(text, end="")
    github.append_step_summary(text)
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text, encoding="utf-8")
    return 0
