"""``scripts/tap``'s one dispatch table: command name -> the function that runs it.

Each entry only turns the parsed arguments into typed ones and calls a command
function of :mod:`scripts.tapctl.stages`, :mod:`scripts.tapctl.gitops`,
:mod:`scripts.tapctl.bench` or :mod:`scripts.tapctl.core.emulator_process`.
Bad input (environment, suffix, arguments, Terraform version, emulator port) is
rejected before any Terraform or cloud call, with one line naming the input and the rule.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from lib.config import EnvironmentConfigError, Target, UnknownEnvironmentError, resolve_target
from lib.naming import SuffixError
from scripts.tapctl.bench import chart_tool
from scripts.tapctl.bench import command as bench
from scripts.tapctl.cli.parser import build_parser
from scripts.tapctl.core import emulator_process, terraform
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import (
    bootstrap_oidc,
    changes,
    comment_cli,
    drift,
    drift_issues,
    janitor,
    promotion,
    seal_cli,
    simulate,
    targets,
)
from scripts.tapctl.stages import (
    apply,
    check,
    converge,
    destroy,
    integration,
    locks,
    outputs,
    pipeline,
    plan,
    scan,
    secrets,
    session,
    state,
    synth,
)

Handler = Callable[[argparse.Namespace], int]


def _target(a: argparse.Namespace) -> Target:
    return resolve_target(a.env, a.suffix)


def _options(a: argparse.Namespace) -> session.SessionOptions:
    return session.SessionOptions(cloud=a.cloud, parallelism=a.parallelism, lock_timeout=a.lock_timeout)


def _ready(a: argparse.Namespace) -> session.Session:
    return session.ready_session(_target(a), _options(a))


def _simulate(a: argparse.Namespace) -> simulate.Request:
    return simulate.Request(
        event=a.event, pr=a.pr, base=a.base, head=a.head, action=a.action, previous_base=a.previous_base,
        fork=a.fork, branch=a.branch, suffix=a.suffix, confirm=a.confirm, ref=a.ref, worktree=a.worktree,
    )  # fmt: skip


def _bench(a: argparse.Namespace) -> bench.BenchOptions:
    return bench.BenchOptions(
        env=a.env, suffix=a.suffix, stacks=a.stacks, reps=a.reps, parts=a.parts, parallelism=a.parallelism,
        peer_parallelism=a.peer_parallelism, cdktf=a.cdktf, no_install=a.no_install, out=a.out,
    )  # fmt: skip


#: Every command of ``scripts/tap``, in the order of ``--help``.
COMMANDS: dict[str, Handler] = {
    # the stages (scripts/tapctl/stages)
    "synth": lambda a: synth.command(_target(a), a.stacks),
    "changed": lambda a: changes.command(_ready(a), scope=a.scope, force_all=a.all),
    "plan": lambda a: plan.command(_ready(a).select(a.stacks), destroy=a.destroy, speculative=a.speculative),
    "apply": lambda a: apply.command(_ready(a).select(a.stacks)),
    "converge": lambda a: converge.command(_ready(a).select(a.stacks)),
    "outputs": lambda a: outputs.command(_ready(a)),
    "test": lambda a: integration.command(_ready(a), workers=a.workers),
    "destroy": lambda a: destroy.command(_target(a), _options(a), confirm=a.confirm, stacks=a.stacks),
    "bootstrap": lambda a: state.command(_ready(a)),
    # needs no synth output: the lock lives in the state bucket
    "unlock": lambda a: locks.command(session.open_session(_target(a), _options(a)), a.stack, a.lock_id),
    "pipeline": lambda a: pipeline.command(
        _target(a), _options(a), stacks=a.stacks, port=a.port, keep=a.keep
    ),
    # GitOps (scripts/tapctl/gitops)
    "env-for-branch": lambda a: targets.env_for_branch_command(a.branch),
    "resolve": lambda a: targets.resolve_command(
        branch=a.branch, pr=a.pr, suffix=a.suffix, ephemeral=a.ephemeral
    ),
    "list-environments": lambda a: targets.list_environments_command(long_lived=a.long_lived),
    "promotion-check": lambda a: promotion.promotion_check_command(
        base=a.base, head=a.head, head_repository=a.head_repository, repository=a.repository
    ),
    "approval-check": lambda a: promotion.approval_check_command(branch=a.branch, repository=a.repository),
    "comment": lambda a: comment_cli.command(
        _target(a),
        out=a.out,
        summary=a.summary,
        title=a.title,
        commit=a.commit,
        results=a.result,
        junit=a.junit,
        results_title=a.results_title,
        not_planned=a.not_planned,
    ),
    "destroy-check": lambda a: targets.destroy_check_command(a.suffix, a.confirm),
    "drift": lambda a: drift.command(_target(a), _options(a), report=a.report, commit=a.commit),
    "janitor": lambda a: janitor.command(
        _options(a),
        open_prs=a.open_prs,
        repository=a.repository,
        now=a.now,
        dry_run=a.dry_run,
        report=a.report,
    ),
    "bootstrap-oidc": lambda a: bootstrap_oidc.command(
        _target(a),
        _options(a),
        repository=a.repository,
        default_branch=a.default_branch,
        existing_provider=a.existing_provider,
        apply=a.apply,
    ),
    "simulate": lambda a: simulate.command(
        _simulate(a), approve=a.approve, skip_jobs=a.skip_jobs, stacks=a.stacks, out=a.out, port=a.port
    ),
    # the benchmark (scripts/tapctl/bench)
    "bench": lambda a: bench.main(_bench(a)),
    "bench-chart": lambda a: chart_tool.command(a.json, a.png),
    # checks
    "scan": lambda a: scan.command(a.envs),
    "secrets-scan": lambda a: secrets.command(a.paths),
    "seal": lambda a: seal_cli.seal_command(
        _target(a), out=a.out, folder=a.folder, commit=a.commit, stack=a.stack
    ),
    "unseal": lambda a: seal_cli.unseal_command(
        _target(a), sealed=a.sealed, into=a.into, commit=a.commit, stack=a.stack
    ),
    "check": lambda a: check.run(a.envlist, a.posargs),
    "drift-issues": lambda a: drift_issues.command(a.dir, a.repository),
    # the embedded AWS (scripts/tapctl/core/emulator_process.py)
    "emulator": lambda a: emulator_process.command(a.action, a.port),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C reaches Terraform (own session, run from threads): it stops gracefully.
        previous = signal.signal(signal.SIGINT, terraform.forward_interrupt)
    try:
        return int(COMMANDS[args.command](args))
    except (TapError, EnvironmentConfigError, UnknownEnvironmentError, SuffixError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        print("interrupted: Terraform was asked to stop gracefully and release its locks", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
