"""``scripts/tap``'s one dispatch table: command name -> the function that runs it.

Each entry only turns the parsed arguments into typed ones and calls a command
function of :mod:`scripts.tapctl.stages`, :mod:`scripts.tapctl.gitops`,
:mod:`scripts.tapctl.bench` or :mod:`scripts.tapctl.core.emulator_process`.
Bad input (environment, suffix, arguments, Terraform version, emulator port) is
rejected before any Terraform or cloud call, with one line naming the input and the rule.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

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
    seal,
    secrets,
    session,
    state,
    synth,
)

Handler = Callable[[argparse.Namespace], int]
T = TypeVar("T")


def _target(a: argparse.Namespace) -> Target:
    return resolve_target(a.env, a.suffix)


def _options(a: argparse.Namespace) -> session.SessionOptions:
    return session.SessionOptions(cloud=a.cloud, parallelism=a.parallelism, lock_timeout=a.lock_timeout)


def _ready(a: argparse.Namespace) -> session.Session:
    return session.ready_session(_target(a), _options(a))


def _same(a: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The arguments ``names`` as keywords of the same names."""
    return {name: getattr(a, name) for name in names}


def _from_args(cls: type[T], a: argparse.Namespace) -> T:
    """The dataclass ``cls`` of a command's options, each field from the argument of its name."""
    return cls(**_same(a, *(f.name for f in dataclasses.fields(cls))))


def _binding(a: argparse.Namespace) -> seal.Binding:
    """What ``seal``/``unseal`` bind a sealed file to: ``-e``/``-s``, ``--commit``, ``--stack``."""
    return seal_cli.binding(_target(a), a.commit, command=a.command, stack=a.stack)


#: Every command of ``scripts/tap``, in the order of ``--help``.
COMMANDS: dict[str, Handler] = {
    # the stages (scripts/tapctl/stages)
    "synth": lambda a: synth.command(_target(a), a.stacks, a.also),
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
        results=a.result,
        **_same(a, "out", "summary", "title", "commit", "junit", "results_title", "not_planned"),
    ),
    "destroy-check": lambda a: targets.destroy_check_command(a.suffix, a.confirm),
    "drift": lambda a: drift.command(_target(a), _options(a), report=a.report, commit=a.commit),
    "janitor": lambda a: janitor.command(
        _options(a), **_same(a, "open_prs", "repository", "now", "dry_run", "report")
    ),
    "bootstrap-oidc": lambda a: bootstrap_oidc.command(
        _target(a), _options(a), **_same(a, "repository", "default_branch", "existing_provider", "apply")
    ),
    "simulate": lambda a: simulate.command(
        _from_args(simulate.Request, a), **_same(a, "approve", "skip_jobs", "stacks", "out", "port")
    ),
    # the benchmark (scripts/tapctl/bench)
    "bench": lambda a: bench.main(_from_args(bench.BenchOptions, a)),
    "bench-chart": lambda a: chart_tool.command(a.json, a.png),
    # checks
    "scan": lambda a: scan.command(a.envs, a.synthesized),
    "secrets-scan": lambda a: secrets.command(a.paths),
    "seal": lambda a: seal_cli.seal_command(_binding(a), out=a.out, folder=a.folder),
    "unseal": lambda a: seal_cli.unseal_command(_binding(a), sealed=a.sealed, into=a.into),
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
