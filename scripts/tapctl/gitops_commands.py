"""GitOps commands (branch mapping, promotion check, PR comment, destroy check,
drift, janitor, OIDC bootstrap, event simulation).

``register`` adds sub-commands to the CLI parser; each sets ``handler``. The
workflows in ``.github/workflows`` call only these and the core commands:
every decision (which environment a branch deploys, who may promote, what a
comment says, which ephemeral environment is stale) is made here, from
``environments/*.yaml``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from lib.config import Target, resolve_target
from scripts.tapctl import commands, comment, commits, github, janitor, paths, promotion
from scripts.tapctl.errors import StageFailed, TapError

ArgAdder = Callable[[argparse.ArgumentParser], None]
#: What a job matrix entry carries (drift: check out the branch, assume the plan role).
MATRIX_KEYS = ("environment", "suffix", "branch", "region", "plan_role")
EVENTS = ("pull_request", "push", "close", "destroy", "drift", "janitor")


def register(sub: argparse._SubParsersAction, *, env_args: ArgAdder, cloud_args: ArgAdder) -> None:
    """Add the GitOps sub-commands."""

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text)

    p = add("env-for-branch", "print the environment a branch deploys (from `branch:` in environments/)")
    p.add_argument("branch")
    p.set_defaults(handler=cmd_env_for_branch)

    p = add(
        "resolve",
        "print (and write to $GITHUB_OUTPUT) what a workflow needs about a target: "
        "environment, suffix, region, roles, approval and destroy protection",
    )
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--branch", help="the long-lived environment this branch deploys")
    group.add_argument("--pr", type=_pr_number, help="the ephemeral environment of pull request N")
    group.add_argument("--suffix", help="the environment instance with this suffix")
    group.add_argument(
        "--ephemeral", action="store_true", help="the ephemeral template itself (roles; no suffix)"
    )
    p.set_defaults(handler=cmd_resolve)

    p = add("list-environments", "print environment names as JSON (output `environments`) for a job matrix")
    p.add_argument(
        "--long-lived", action="store_true", help="only environments with a branch (not templates)"
    )
    p.set_defaults(handler=cmd_list_environments)

    _register_checks(add)
    _register_operations(add, env_args=env_args, cloud_args=cloud_args)
    from scripts.tapctl import simulate  # (imports the act runner only when registering)

    simulate.register(add)


def _register_checks(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = add(
        "promotion-check",
        "fail a pull request into a protected branch from a source its environment's "
        "`promote_from` does not list",
    )
    p.add_argument("--base", required=True, help="the PR's base branch")
    p.add_argument("--head", required=True, help="the PR's head branch")
    p.add_argument("--head-repository", default=None, help="OWNER/REPO the head branch lives in")
    p.add_argument("--repository", default=None, help="OWNER/REPO of this repository")
    p.set_defaults(handler=cmd_promotion_check)

    p = add(
        "approval-check",
        "fail if the environment file asks for approval but its GitHub environment has no "
        "required reviewers (GitHub API, $GITHUB_TOKEN with actions: read)",
    )
    p.add_argument("--branch", required=True, help="the branch being deployed")
    p.add_argument("--repository", required=True, help="OWNER/REPO")
    p.set_defaults(handler=cmd_approval_check)


def _register_operations(
    add: Callable[[str, str], argparse.ArgumentParser], *, env_args: ArgAdder, cloud_args: ArgAdder
) -> None:
    p = add("comment", "render the PR comment / job summary from the saved plans in cdktf.out")
    env_args(p)
    p.add_argument("--out", type=Path, required=True, help="write the Markdown here")
    p.add_argument("--summary", action="store_true", help="also append it to $GITHUB_STEP_SUMMARY")
    p.add_argument("--title", default="Terraform plan")
    p.add_argument("--commit", default=os.environ.get("TAP_COMMIT") or os.environ.get("GITHUB_SHA"))
    p.add_argument(
        "--result",
        action="append",
        default=[],
        metavar="NAME=STATUS",
        help="add a results row (status: success, failure, cancelled, skipped); repeatable",
    )
    p.add_argument("--junit", type=Path, default=None, help="JUnit XML whose counts go on the tests row")
    p.add_argument("--results-title", default="", help="heading of the results section")
    p.add_argument(
        "--not-planned",
        default=None,
        metavar="REASON",
        help="no plan ran: render REASON and the results rows instead of reading plans",
    )
    p.set_defaults(handler=cmd_comment)

    p = add(
        "destroy-check",
        "validate a destroy request (suffix, repeated confirmation, protection) before any "
        "credentials are issued; prints the target like `resolve`",
    )
    p.add_argument("--suffix", required=True)
    p.add_argument("--confirm", required=True)
    p.set_defaults(handler=cmd_destroy_check)

    p = add("drift", "plan -detailed-exitcode every stack; write a drift report; output drifted=true|false")
    env_args(p)
    cloud_args(p)
    p.add_argument("--report", type=Path, required=True, help="write the Markdown report here")
    p.add_argument(
        "--commit",
        default=None,
        help="the commit the report names (default: the checked-out work tree's HEAD, "
        "then $GITHUB_SHA if git fails)",
    )
    p.set_defaults(handler=cmd_drift)

    p = add(
        "janitor",
        "destroy ephemeral environments whose PR is not open or whose last deploy is older "
        "than ephemeral.ttl_hours",
    )
    cloud_args(p)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--open-prs", type=_pr_list, help="comma-separated open PR numbers ('' for none)")
    source.add_argument("--repository", help="OWNER/REPO: list open PRs via the API ($GITHUB_TOKEN)")
    p.add_argument("--now", type=_iso_time, default=None, help="pretend it is this UTC time (ISO 8601)")
    p.add_argument("--dry-run", action="store_true", help="decide and report, destroy nothing")
    p.add_argument("--report", type=Path, default=None, help="write the Markdown report here")
    p.set_defaults(handler=cmd_janitor)

    p = add(
        "bootstrap-oidc",
        "synthesize and plan (with --apply: apply) the account's GitHub OIDC provider and CI roles; "
        "run once per AWS account by an administrator",
    )
    env_args(p)
    cloud_args(p)
    p.add_argument("--repository", required=True, help="OWNER/REPO whose workflows may assume the roles")
    p.add_argument("--default-branch", default="main", help="where scheduled drift runs (default: main)")
    p.add_argument("--existing-provider", action="store_true", help="the account already has the provider")
    p.add_argument("--apply", action="store_true", help="apply the plan (default: plan only)")
    p.set_defaults(handler=cmd_bootstrap_oidc)


# -- argument types -----------------------------------------------------------------


def _pr_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 9_999_999:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pull request number")
    return int(text)


def _pr_list(text: str) -> set[int]:
    return {_pr_number(t.strip()) for t in text.split(",") if t.strip()}


def _iso_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: add +00:00 or Z")
    return value


# -- resolve / promotion ---------------------------------------------------------------


def target_outputs(target: Target) -> dict[str, str]:
    env = target.env
    return {
        "environment": env.name,
        "suffix": target.suffix,
        "region": env.region,
        "account_id": env.account_id,
        "plan_role": env.ci_roles.plan,
        "apply_role": env.ci_roles.apply,
        "approval_required": str(env.protection.approval_required).lower(),
        "destroy_allowed": str(env.protection.destroy_allowed).lower(),
        "state_bucket": env.state.bucket,
        "github_environment": env.name,
        "branch": env.branch or "",
    }


def cmd_env_for_branch(args: argparse.Namespace) -> int:
    print(promotion.env_for_branch(args.branch).name)
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    if args.branch is not None:
        target = resolve_target(promotion.env_for_branch(args.branch).name, None)
    elif args.pr is not None:
        target = resolve_target(promotion.ephemeral_template().name, f"pr{args.pr}")
    elif args.suffix is not None:
        target = resolve_target(promotion.env_for_suffix(args.suffix).name, args.suffix)
    else:
        target = resolve_target(promotion.ephemeral_template().name, "pr0")
    values = target_outputs(target)
    if args.ephemeral:
        values["suffix"] = ""
    print(github.write_outputs(values), end="")
    return 0


def cmd_list_environments(args: argparse.Namespace) -> int:
    from lib.config import known_environments, load_environment

    names = promotion.long_lived() if args.long_lived else known_environments()
    matrix = []
    for name in names:
        env = load_environment(name)
        target = resolve_target(name, env.canonical_suffix() or "pr0")
        matrix.append({k: v for k, v in target_outputs(target).items() if k in MATRIX_KEYS})
    print(github.write_outputs({"environments": json.dumps(names), "matrix": json.dumps(matrix)}), end="")
    return 0


def cmd_promotion_check(args: argparse.Namespace) -> int:
    same = args.head_repository is None or args.repository is None or args.head_repository == args.repository
    decision = promotion.check_promotion(base=args.base, head=args.head, same_repository=same)
    github.append_step_summary(f"**Promotion check:** {decision.reason}")
    if not decision.allowed:
        raise promotion.PromotionRefused(decision.reason)
    print(decision.reason)
    return 0


def cmd_approval_check(args: argparse.Namespace) -> int:
    env = promotion.env_for_branch(args.branch)
    if not env.protection.approval_required:
        print(f"{env.name}: no approval required (protection.approval_required is false)")
        return 0
    rules = github.environment_protection_rules(
        github.validate_repository(args.repository), env.name, token=os.environ.get("GITHUB_TOKEN")
    )
    if "required_reviewers" not in rules:
        found = ", ".join(rules) or "none"
        raise StageFailed(
            f"environments/{env.name}.yaml sets protection.approval_required, but the GitHub environment "
            f"{env.name!r} of {args.repository} has no required reviewers (rules: {found}): "
            "add reviewers in Settings -> Environments before deploying"
        )
    print(f"{env.name}: approval gate in place (required reviewers)")
    return 0


# -- comment ---------------------------------------------------------------------------


def parse_results(items: list[str], junit: Path | None) -> list[comment.JobResult]:
    counts = comment.junit_counts(junit) if junit else None
    results = []
    for item in items:
        name, sep, status = item.partition("=")
        if not sep or not name.strip():
            raise TapError(f"--result {item!r} is not NAME=STATUS")
        status = status.strip() or "skipped"
        if status not in comment.RESULT_MARK:
            raise TapError(f"--result {item!r}: status must be one of {', '.join(comment.RESULT_MARK)}")
        detail = comment.describe_tests(counts) if junit and "test" in name else ""
        results.append(comment.JobResult(name.strip(), status, detail))
    return results


def cmd_comment(args: argparse.Namespace) -> int:
    from scripts.tapctl.cli import resolve

    target = resolve(args)
    if args.not_planned is not None:
        report = comment.PlanReport(
            target.env.name, target.suffix, {}, commit=args.commit, run_url=github.run_url()
        )
        report.title = args.title
        report.results = parse_results(args.result, None)
        report.results_title = args.results_title
        return _write_comment(args, comment.render_not_planned(report, args.not_planned))
    try:
        report = comment.load_report(
            paths.outdir(),
            env=target.env.name,
            suffix=target.suffix,
            commit=args.commit,
            run_url=github.run_url(),
        )
    except FileNotFoundError as exc:
        raise TapError(str(exc)) from None
    report.title = args.title
    report.results = parse_results(args.result, args.junit)
    report.results_title = args.results_title
    return _write_comment(args, comment.render(report))


def _write_comment(args: argparse.Namespace, text: str) -> int:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    if args.summary:
        github.append_step_summary(text)
    print(f"wrote {args.out} ({len(text):,} characters)")
    return 0


# -- destroy ---------------------------------------------------------------------------


def destroy_target(suffix: str, confirm: str | None, *, cloud: str) -> Target:
    """The target a destroy request names, after the CLI's destroy validation."""
    from scripts.tapctl.cli import validate_destroy

    env = promotion.env_for_suffix(suffix)
    target = resolve_target(env.name, suffix)
    validate_destroy(argparse.Namespace(confirm=confirm, cloud=cloud), target)
    return target


def cmd_destroy_check(args: argparse.Namespace) -> int:
    target = destroy_target(args.suffix, args.confirm, cloud="aws")
    print(github.write_outputs(target_outputs(target)), end="")
    return 0


# -- drift -----------------------------------------------------------------------------


def cmd_drift(args: argparse.Namespace) -> int:
    from scripts.tapctl.cli import _preflight, _session, resolve

    target = resolve(args)
    _preflight()
    commands.read_synth_metadata(target)
    # The job checks out the environment's branch; $GITHUB_SHA is the workflow's (main's).
    commit = args.commit or commits.checked_out()
    drift_run(_session(args, target), report=args.report, commit=commit)
    return 0


def drift_run(session: commands.Session, *, report: Path, commit: str | None) -> Any:
    """Detect drift, write the report and its issue metadata, set step outputs."""
    from scripts.tapctl import drift

    target = session.target
    result = drift.detect(session)
    text = drift.report(
        result, env=target.env.name, suffix=target.suffix, commit=commit, run_url=github.run_url()
    )
    drift.write_report(report, text)
    drift.write_issue_meta(report, result, env=target.env.name)
    github.append_step_summary(text)
    github.write_outputs({"drifted": str(result.drifted).lower(), "failed": str(result.failed).lower()})
    state = "drift detected" if result.drifted else "no drift"
    print(f"{target.env.name}: {state}; report: {report}")
    if result.failed:
        raise StageFailed(f"drift check could not plan every stack of {target.env.name}; see {report}")
    return result


# -- janitor ---------------------------------------------------------------------------


def janitor_run(
    session: commands.Session,
    *,
    open_prs: set[int] | None,
    now: datetime,
    dry_run: bool,
    session_for: Callable[[str], commands.Session],
    workroot: Path | None = None,
) -> str:
    """List ephemeral environments in the template's state bucket, decide, destroy; report."""
    import boto3

    template = session.target.env
    if template.ephemeral is None:
        raise TapError(f"environment {template.name!r} is not an ephemeral template")
    state = template.state
    s3 = boto3.client("s3", region_name=state.region, **commands._boto_kwargs(session.cloud))
    envs = (
        janitor.list_ephemeral(s3, state.bucket, template.ephemeral.suffix_pattern)
        if commands._bucket_exists(s3, state.bucket)
        else []
    )
    verdicts = janitor.decide(envs, open_prs=open_prs, ttl_hours=template.ephemeral.ttl_hours, now=now)
    lines = ["### Ephemeral environments", ""]
    if not verdicts:
        lines.append(f"No ephemeral environments in s3://{state.bucket}.")
    for v in verdicts:
        action = ("would destroy" if dry_run else "destroy") if v.destroy else "keep"
        lines.append(f"- `{v.env.suffix}` ({', '.join(v.env.stacks)}): **{action}** — {v.reason}")
    outcomes: dict[str, str] = {}
    failure: StageFailed | None = None
    if not dry_run:
        try:
            outcomes = janitor.sweep(session_for, template, verdicts, workroot=workroot)
        except janitor.SweepFailed as exc:
            outcomes, failure = exc.outcomes, exc
    for suffix, outcome in outcomes.items():
        lines.append(f"- `{suffix}`: {outcome}")
    text = "\n".join(lines) + "\n"
    if failure is not None:
        raise StageFailed(f"{failure}\n{text}")
    return text


def cmd_janitor(args: argparse.Namespace) -> int:
    from scripts.tapctl.cli import _preflight, _session

    template = promotion.ephemeral_template()
    placeholder = resolve_target(template.name, "pr0")
    if args.repository is not None:
        open_prs = github.open_pull_requests(
            github.validate_repository(args.repository), token=os.environ.get("GITHUB_TOKEN")
        )
    else:
        open_prs = args.open_prs
    if not args.dry_run:
        _preflight()
    text = janitor_run(
        _session(args, placeholder),
        open_prs=open_prs,
        now=args.now or janitor.now_utc(),
        dry_run=args.dry_run,
        session_for=lambda suffix: _session(args, resolve_target(template.name, suffix)),
    )
    print(text, end="")
    github.append_step_summary(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text, encoding="utf-8")
    return 0


# -- OIDC bootstrap --------------------------------------------------------------------


def cmd_bootstrap_oidc(args: argparse.Namespace) -> int:
    from lib.config import load_all
    from lib.config.settings.github_oidc import (
        GithubOidcSettings,
        OidcConfigError,
        github_environment_settings,
    )
    from scripts.tapctl import bootstrap_oidc
    from scripts.tapctl.cli import _preflight, _session, resolve

    target = resolve(args)
    try:
        settings = GithubOidcSettings(
            repository=github.validate_repository(args.repository),
            default_branch=args.default_branch,
            existing_provider=args.existing_provider,
        )
        binary = _preflight()
        session = _session(args, target)
        session.terraform = binary
        result = bootstrap_oidc.run(session, settings=settings, apply=args.apply)
    except OidcConfigError as exc:
        raise TapError(str(exc)) from None
    for line in result.roles:
        print(line)
    for line in github_environment_settings(load_all(), target.env.account_id, settings):
        print(line)
    print(f"plan: {result.plan.counts()} ({result.stack_dir})")
    print("applied" if result.applied else "not applied: re-run with --apply to create the roles")
    return 0
