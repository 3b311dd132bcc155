"""``scripts/tap``: the pipeline CLI. Every workflow step is one of these commands.

Bad input (environment, suffix, arguments, Terraform version, emulator port)
is rejected before any Terraform or cloud call, with one line naming the input
and the rule.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from lib.config import EnvironmentConfigError, Target, UnknownEnvironmentError, resolve_target
from lib.naming import SuffixError
from lib.stacks import select_stacks
from scripts.tapctl import (
    check,
    commands,
    drift_issues,
    emulator,
    gitops_commands,
    locks,
    paths,
    scan,
    seal_cli,
    secrets,
    terraform,
    ui,
)
from scripts.tapctl.errors import TapError
from scripts.tapctl.pipeline import Pipeline
from scripts.tapctl.plans import PlanSummary
from scripts.tapctl.targets import CLOUDS, connect, default_cloud
from scripts.tapctl.terraform import LOCK_TIMEOUT, check_version, find_binary, parse_lock_timeout

DEFAULT_EPHEMERAL_SUFFIX = "pr0"  # a local stand-in for pr<N>


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1-64")
    return value


def _workers(text: str) -> str:
    """pytest-xdist's ``-n``: ``auto``, ``logical`` or 0-64 (0 = serial)."""
    if text in ("auto", "logical"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not auto, logical or a number of workers") from None
    if not 0 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 0-64 (0 runs the tests serially)")
    return str(value)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1024 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1024-65535")
    return value


def _argtype(fn: Callable[[str], str]) -> Callable[[str], str]:
    def check(text: str) -> str:
        try:
            return fn(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return check


def _env_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-e",
        "--env",
        default=os.environ.get("ENVIRONMENT", "pr"),
        help="environment file name in environments/ (default: $ENVIRONMENT or pr)",
    )
    p.add_argument(
        "-s",
        "--suffix",
        default=os.environ.get("ENVIRONMENT_SUFFIX"),
        help="environment suffix (default: $ENVIRONMENT_SUFFIX; the environment's "
        f"own name, or {DEFAULT_EPHEMERAL_SUFFIX} for the pr template)",
    )


def _cloud_args(p: argparse.ArgumentParser) -> None:
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
        type=_positive,
        default=commands.default_parallelism(),
        help="stacks run at once (default: %(default)s; $TAP_PARALLELISM)",
    )
    p.add_argument(
        "--lock-timeout",
        type=_argtype(parse_lock_timeout),
        default=LOCK_TIMEOUT,
        help="how long Terraform waits for a state lock another run holds, 0s-1h "
        "(default: %(default)s; $TAP_LOCK_TIMEOUT)",
    )


def _secrets_scan(args: argparse.Namespace) -> int:
    targets = args.paths or [paths.outdir(), paths.logs_dir(), paths.outputs_dir()]
    missing = [str(p) for p in targets if not p.exists()]
    if args.paths and missing:
        raise TapError(f"secrets-scan: no such file or directory: {', '.join(missing)}")
    findings = secrets.scan([p for p in targets if p.exists()], secrets.known_values())
    for finding in findings:
        print(f"error: secret found: {finding}", file=sys.stderr)
    if findings:
        return 1
    ui.info(f"no secrets found in {', '.join(str(p) for p in targets if p.exists())}")
    return 0


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
            _env_args(p)
        if cloud:
            _cloud_args(p)
        return p

    p = add("synth", "synthesize every stack of the environment into cdktf.out/ (once per run)", cloud=False)
    p.add_argument(
        "--stacks",
        default=os.environ.get("TAP_STACKS"),
        help="comma-separated subset of the environment's stacks (default: all; "
        "$TAP_STACKS); later commands act on what was synthesized",
    )
    p = add("plan", "plan every stack in parallel; saves tfplan, plan.json and plan.txt per stack")
    p.add_argument("--destroy", action="store_true", help="plan a destroy instead")
    p.add_argument(
        "--speculative",
        action="store_true",
        help="for review only (pull requests): no state lock (-lock=false) and no saved plan, so "
        "`apply` refuses it; plan.json, plan.txt and the summary `comment` reads are still written",
    )
    add("apply", "apply the saved plans exactly (fails if a plan is stale)")
    add("converge", "plan again with -detailed-exitcode; fails if any stack still has changes")
    add("outputs", "write cfn-outputs/flat-outputs.json and all-outputs.json from every stack")
    p = add("test", "run tests/integration with pytest-xdist against the outputs")
    p.add_argument(
        "-n",
        "--workers",
        type=_workers,
        default="auto",
        help="pytest-xdist workers: auto, logical or 0-64 (default: auto)",
    )
    p = add("destroy", "destroy every stack and remove its state (idempotent)")
    p.add_argument("--confirm", default=None, help="repeat the suffix to confirm (required with --cloud aws)")
    add("bootstrap", "create the state bucket (versioned, encrypted, public access blocked)")
    p = add("unlock", "remove one stale state lock (a Terraform that was killed), only if its id matches")
    p.add_argument("--stack", required=True, help="the stack whose state is locked")
    p.add_argument(
        "--lock-id", required=True, type=_argtype(locks.validate_lock_id), help="the id the error showed"
    )
    p.set_defaults(handler=cmd_unlock)  # needs no synth output: the lock lives in the state bucket

    p = add(
        "pipeline",
        "the full local sequence: synth, plan, apply, converge, outputs, "
        "integration tests, destroy; the emulator is started and stopped around it",
    )
    p.add_argument("--port", type=_port, default=None, help="emulator port (default: a free one)")
    p.add_argument("--keep", action="store_true", help="skip the destroy stage (real AWS only)")
    p.add_argument(
        "--stacks",
        default=os.environ.get("TAP_STACKS"),
        help="comma-separated subset of the environment's stacks (default: all)",
    )

    gitops_commands.register(sub, env_args=_env_args, cloud_args=_cloud_args)
    from scripts.tapctl import bench  # `scripts/tap bench` (scripts/tapctl/bench*.py)

    bench.register(sub)

    p = sub.add_parser(
        "scan",
        help="checkov over the synthesized Terraform of every environment (SARIF in .tap/scan/)",
        description="synthesize environments and scan them with checkov; skips have reasons in .checkov.yaml",
    )
    p.add_argument("envs", nargs="*", help="environments to scan (default: all)")
    p.set_defaults(handler=lambda a: print(f"SARIF: {scan.scan(a.envs)}") or 0)

    p = sub.add_parser(
        "secrets-scan",
        help="look for secrets in synth output, plans, logs and outputs before they are uploaded",
        description="exit 1 naming file and rule when a known secret value or a secret pattern is found",
    )
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: cdktf.out, logs, outputs)")
    p.set_defaults(handler=_secrets_scan)

    seal_cli.register(sub, env_args=_env_args)

    check.register(sub)
    drift_issues.register(sub)

    p = sub.add_parser(
        "emulator",
        help="start, stop or show the embedded AWS",
        description="start, stop or show the embedded AWS (moto server on loopback)",
    )
    p.add_argument("action", choices=("start", "stop", "status"))
    p.add_argument("--port", type=_port, default=None, help="port for start (default: a free one)")
    return parser


def resolve(args: argparse.Namespace) -> Target:
    suffix = args.suffix
    if suffix is None and args.env == "pr":
        suffix = DEFAULT_EPHEMERAL_SUFFIX
    return resolve_target(args.env, suffix)


def _session(args: argparse.Namespace, target: Target) -> commands.Session:
    cloud = connect(args.cloud or default_cloud(), target.env.account_id)
    return commands.Session(
        target=target, cloud=cloud, parallelism=args.parallelism, lock_timeout=args.lock_timeout
    )


def _check_stacks(target: Target, only: str | None) -> None:
    try:
        select_stacks(target, only)
    except ValueError as exc:
        raise TapError(f"--stacks: {exc}") from None


def _preflight() -> str:
    binary = find_binary()
    check_version(binary)
    return binary


def _print_plan(summaries: dict[str, PlanSummary]) -> None:
    rows = [
        [
            s,
            str(p.add),
            str(p.change),
            str(p.destroy),
            str(p.replace),
            "DESTRUCTIVE" if p.destructive else ("changes" if p.has_changes else "no changes"),
        ]
        for s, p in summaries.items()
    ]
    print(ui.table(["stack", "add", "change", "destroy", "replace", "status"], rows))


def cmd_emulator(args: argparse.Namespace) -> int:
    if args.action == "start":
        state = emulator.start(args.port)
        print(f"emulator running on {state.url} (pid {state.pid}); stop it with `scripts/tap emulator stop`")
    elif args.action == "stop":
        print("emulator stopped" if emulator.stop() else "emulator was not running")
    else:
        state = emulator.running()
        print(f"running on {state.url} (pid {state.pid})" if state else "not running")
        return 0 if state else 3
    return 0


def cmd_pipeline(args: argparse.Namespace, target: Target) -> int:
    cloud_kind = args.cloud or default_cloud()
    if args.keep and cloud_kind == "emulator":
        raise TapError("--keep only applies to --cloud aws: the emulator is stopped after the run")
    if cloud_kind == "aws" and not args.keep and not target.env.protection.destroy_allowed:
        raise TapError(
            f"environment {target.env.name!r} is protected: the pipeline's destroy stage would "
            "remove it; use --keep (or the deploy workflow) instead"
        )
    _check_stacks(target, args.stacks)
    if args.port is not None and cloud_kind == "emulator" and emulator.running() is None:
        emulator.validate_port(args.port)
    binary = _preflight()
    Pipeline(
        target=target,
        cloud=cloud_kind,
        parallelism=args.parallelism,
        terraform=binary,
        stacks=args.stacks,
        port=args.port,
        keep=args.keep,
        lock_timeout=args.lock_timeout,
    ).run(on_plan=_print_plan)
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    print(locks.unlock(_session(args, resolve(args)), args.stack, args.lock_id))
    return 0


def validate_destroy(args: argparse.Namespace, target: Target) -> None:
    """Refuse a protected environment or a wrong confirmation, before anything runs."""
    env = target.env
    if not env.protection.destroy_allowed:
        raise TapError(
            f"environment {env.name!r} is protected (protection.destroy_allowed is false in "
            f"environments/{env.name}.yaml): refusing to destroy {target.suffix!r}"
        )
    if args.confirm is not None and args.confirm != target.suffix:
        raise TapError(
            f"--confirm {args.confirm!r} does not match the suffix {target.suffix!r}: "
            "repeat the suffix exactly to confirm the destroy"
        )
    if (args.cloud or default_cloud()) == "aws" and args.confirm is None:
        raise TapError(f"destroying on real AWS needs --confirm {target.suffix}")


def cmd_destroy(session: commands.Session) -> int:
    results = commands.destroy(session)
    for stack, result in results.items():
        print(f"{stack}: {result.value}")
    return 0


def cmd_synth(args: argparse.Namespace, target: Target) -> int:
    _check_stacks(target, args.stacks)
    meta = commands.synth(target, args.stacks)
    print(
        f"synthesized {', '.join(meta['stacks'])} for {target.env.name}/{target.suffix} into {paths.outdir()}"
    )
    return 0


def _converge(session: commands.Session) -> None:
    commands.converge(session)
    print("no changes: every stack matches its configuration")


def _outputs(session: commands.Session) -> None:
    flat, nested = commands.collect_outputs(session)
    print(f"wrote {flat} and {nested}")


#: Commands that act on a synthesized environment through Terraform.
SESSION_COMMANDS: dict[str, Callable[[argparse.Namespace, commands.Session], object]] = {
    "plan": lambda a, s: _print_plan(commands.plan(s, destroy=a.destroy, speculative=a.speculative)),
    "apply": lambda a, s: commands.apply(s),
    "converge": lambda a, s: _converge(s),
    "outputs": lambda a, s: _outputs(s),
    "test": lambda a, s: commands.integration_tests(s, workers=a.workers),
    "destroy": lambda a, s: cmd_destroy(s),
    "bootstrap": lambda a, s: print(commands.bootstrap(s)),
}


def run(args: argparse.Namespace) -> int:
    if getattr(args, "handler", None) is not None:
        return int(args.handler(args))
    if args.command == "emulator":
        return cmd_emulator(args)
    target = resolve(args)
    if args.command == "synth":
        return cmd_synth(args, target)
    if args.command == "pipeline":
        return cmd_pipeline(args, target)
    if args.command == "destroy":
        validate_destroy(args, target)
    _preflight()
    commands.read_synth_metadata(target)
    SESSION_COMMANDS[args.command](args, _session(args, target))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C reaches Terraform (own session, run from threads): it stops gracefully.
        previous = signal.signal(signal.SIGINT, terraform.forward_interrupt)
    try:
        return run(args)
    except (TapError, EnvironmentConfigError, UnknownEnvironmentError, SuffixError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        print("interrupted: Terraform was asked to stop gracefully and release its locks", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
