"""The argument parser of ``scripts/tap``: every command and its arguments, no behaviour.

The GitOps commands' arguments are in :mod:`scripts.tapctl.cli.gitops_args`; what each
command does is the dispatch table (:mod:`scripts.tapctl.cli.dispatch`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from lib.config import DEFAULT_ENVIRONMENT, ENVIRONMENT_VAR, PLACEHOLDER_SUFFIX, SUFFIX_VAR
from scripts.tapctl.bench.command import PARTS
from scripts.tapctl.cli import argtypes, gitops_args
from scripts.tapctl.core.cloud import CLOUDS
from scripts.tapctl.core.terraform import LOCK_TIMEOUT, parse_lock_timeout
from scripts.tapctl.stages import check, locks
from scripts.tapctl.stages.session import default_parallelism

#: ``add(name, help, env=True, cloud=True)``: a command with the environment and cloud options.
StageAdder = Callable[..., argparse.ArgumentParser]


def env_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-e",
        "--env",
        default=os.environ.get(ENVIRONMENT_VAR) or DEFAULT_ENVIRONMENT,
        help=f"environment file name in environments/ (default: ${ENVIRONMENT_VAR} or {DEFAULT_ENVIRONMENT})",
    )
    p.add_argument(
        "-s",
        "--suffix",
        default=os.environ.get(SUFFIX_VAR) or None,
        help=f"environment suffix (default: ${SUFFIX_VAR}; the environment's "
        f"own name, or {PLACEHOLDER_SUFFIX} for the ephemeral template)",
    )


def subset_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--stacks",
        default=os.environ.get("TAP_STACKS") or None,
        help="comma-separated subset of the synthesized stacks to act on, e.g. the `stacks` "
        "output of `scripts/tap changed` (default: all; $TAP_STACKS)",
    )


def cloud_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cloud",
        choices=CLOUDS,
        default=None,
        help="where to deploy: the embedded AWS (default) or real AWS "
        "(credentials from the environment, e.g. OIDC); also $TAP_CLOUD",
    )
    p.add_argument(
        "-j",
        "--parallelism",
        type=argtypes.positive,
        default=default_parallelism(),
        help="stacks run at once (default: %(default)s; $TAP_PARALLELISM)",
    )
    p.add_argument(
        "--lock-timeout",
        type=argtypes.checked(parse_lock_timeout),
        default=LOCK_TIMEOUT,
        help="how long Terraform waits for a state lock another run holds, 0s-1h "
        "(default: %(default)s; $TAP_LOCK_TIMEOUT)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/tap",
        description="GitOps pipeline for the CDKTF stacks. Runs against the embedded AWS "
        "unless --cloud aws is given.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, env: bool = True, cloud: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if env:
            env_args(p)
        if cloud:
            cloud_args(p)
        return p

    _stage_commands(add)
    gitops_args.add_commands(sub, env_args=env_args, cloud_args=cloud_args)
    _bench(sub)
    _bench_chart(sub)
    _checks(sub)
    gitops_args.add_seal(sub, env_args=env_args)
    _tox(sub)
    gitops_args.add_drift_issues(sub)
    p = sub.add_parser(
        "emulator",
        help="start, stop or show the embedded AWS",
        description="start, stop or show the embedded AWS (moto server on loopback)",
    )
    p.add_argument("action", choices=("start", "stop", "status"))
    p.add_argument("--port", type=argtypes.port, default=None, help="port for start (default: a free one)")
    return parser


def _stage_commands(add: StageAdder) -> None:
    p = add("synth", "synthesize every stack of the environment into cdktf.out/ (once per run)", cloud=False)
    p.add_argument(
        "--stacks",
        default=os.environ.get("TAP_STACKS"),
        help="comma-separated subset of the environment's stacks (default: all; "
        "$TAP_STACKS); later commands act on what was synthesized",
    )
    p.add_argument(
        "--also",
        action="append",
        default=[],
        type=argtypes.target_outdir,
        metavar="ENV[/SUFFIX]=DIR",
        help="also synthesize this target into DIR, in the same process (the provider bindings "
        "load once); repeatable, e.g. --also pr/pr7=build/pr/cdktf.out",
    )
    p = add(
        "changed",
        "print (and write to $GITHUB_OUTPUT) the stacks whose synthesized fingerprint differs from "
        "the one their last apply recorded, with their dependents and dependency levels (JSON)",
    )
    p.add_argument(
        "--scope",
        default=None,
        help="limit the answer to these stacks (comma-separated; e.g. what a PR changes in its "
        "base environment), their dependents and the dependencies they still need",
    )
    p.add_argument("--all", action="store_true", help="every stack is changed (ignore the records)")
    p = add("plan", "plan every stack in parallel; saves tfplan, plan.json and plan.txt per stack")
    subset_arg(p)
    p.add_argument("--destroy", action="store_true", help="plan a destroy instead")
    p.add_argument(
        "--speculative",
        action="store_true",
        help="for review only (pull requests): no state lock (-lock=false) and no saved plan, so "
        "`apply` refuses it; plan.json, plan.txt and the summary `comment` reads are still written",
    )
    subset_arg(add("apply", "apply the saved plans exactly (fails if a plan is stale)"))
    subset_arg(add("converge", "plan again with -detailed-exitcode; fails if any stack still has changes"))
    add("outputs", "write cfn-outputs/flat-outputs.json and all-outputs.json from every stack")
    p = add("test", "run tests/integration with pytest-xdist against the outputs")
    p.add_argument(
        "-n",
        "--workers",
        type=argtypes.workers,
        default="auto",
        help="pytest-xdist workers: auto, logical or 0-64 (default: auto)",
    )
    p = add("destroy", "destroy every stack and remove its state (idempotent)")
    subset_arg(p)
    p.add_argument("--confirm", default=None, help="repeat the suffix to confirm (required with --cloud aws)")
    add("bootstrap", "create the state bucket (versioned, encrypted, public access blocked)")
    p = add("unlock", "remove one stale state lock (a Terraform that was killed), only if its id matches")
    p.add_argument("--stack", required=True, help="the stack whose state is locked")
    p.add_argument(
        "--lock-id",
        required=True,
        type=argtypes.checked(locks.validate_lock_id),
        help="the id the error showed",
    )
    p = add(
        "pipeline",
        "the full local sequence: synth, plan, apply, converge, outputs, "
        "integration tests, destroy; the emulator is started and stopped around it",
    )
    p.add_argument("--port", type=argtypes.port, default=None, help="emulator port (default: a free one)")
    p.add_argument("--keep", action="store_true", help="skip the destroy stage (real AWS only)")
    p.add_argument(
        "--stacks",
        default=os.environ.get("TAP_STACKS"),
        help="comma-separated subset of the environment's stacks (default: all)",
    )


def _bench(sub: argparse._SubParsersAction) -> None:
    help_text = "benchmark this pipeline against the stock cdktf-cli workflow (table, JSON, PNG waterfall)"
    p = sub.add_parser("bench", help=help_text, description=help_text)
    env_args(p)
    p.add_argument("--stacks", default=None, help="comma-separated subset of the environment's stacks")
    p.add_argument("--reps", type=argtypes.reps, default=3, help="repetitions per measurement (default: 3)")
    p.add_argument("--parts", type=argtypes.parts, default=PARTS, help="subset of parts 1-5 (default: all)")
    p.add_argument(
        "-j", "--parallelism", type=argtypes.positive, default=default_parallelism(),
        help="our stacks run at once (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--peer-parallelism", type=argtypes.positive, default=1,
        help="the peer's cdktf deploy/destroy --parallelism (default: 1; cdktf's own: unbounded)",
    )  # fmt: skip
    p.add_argument(
        "--cdktf", default=None, help="an existing cdktf-cli 0.21 binary (default: install from npm)"
    )
    p.add_argument(
        "--no-install",
        action="store_true",
        help="do not install cdktf-cli nor the chart's matplotlib venv; skip what is absent",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where bench.json and waterfall.png go (default: <workdir>/bench)",
    )


def _bench_chart(sub: argparse._SubParsersAction) -> None:
    help_text = (
        "draw the benchmark chart from a saved bench.json (matplotlib in its own venv, "
        "installed from tools/chart.lock on first use)"
    )
    p = sub.add_parser("bench-chart", help=help_text, description=help_text)
    p.add_argument("json", type=Path, help="a bench.json written by scripts/tap bench")
    p.add_argument("png", type=Path, help="where the PNG goes, e.g. docs/img/bench-ephemeral.png")


def _tox(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help=f"the whole test suite: tox -e {check.DEFAULT_ENVLIST}",
        description="run the test suite through tox; what follows `--` goes to pytest "
        "(tox posargs), e.g. `scripts/tap check -e e2e -- -k drift`",
    )
    p.add_argument(
        "-e",
        "--envlist",
        default=check.DEFAULT_ENVLIST,
        help="comma-separated tox environments (default: %(default)s)",
    )
    p.add_argument("posargs", nargs="*", metavar="-- PYTEST_ARGS", help="passed to pytest through tox")


def _checks(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scan",
        help="checkov over the synthesized Terraform of every environment (SARIF in .tap/scan/)",
        description="synthesize environments and scan them with checkov; skips have reasons in .checkov.yaml",
    )
    p.add_argument("envs", nargs="*", help="environments to scan (default: all)")
    p.add_argument(
        "--synthesized",
        type=Path,
        metavar="CDKTF_OUT",
        help="scan this synthesized cdktf.out (e.g. the synth job's artifact) instead of synthesizing",
    )
    p = sub.add_parser(
        "secrets-scan",
        help="look for secrets in synth output, plans, logs and outputs before they are uploaded",
        description="exit 1 naming file and rule when a known secret value or a secret pattern is found",
    )
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: cdktf.out, logs, outputs)")
