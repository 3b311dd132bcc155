"""The arguments of the GitOps commands the workflows call (resolve, checks, comment, drift,
janitor, OIDC bootstrap, simulate, seal/unseal, drift-issues). No behaviour: see the dispatch."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from scripts.tapctl.cli import argtypes
from scripts.tapctl.gitops import simulate

ArgAdder = Callable[[argparse.ArgumentParser], None]
Adder = Callable[[str, str], argparse.ArgumentParser]


def _repository(p: argparse._ActionsContainer, purpose: str = "", *, required: bool = True) -> None:
    """``--repository OWNER/REPO``, a GitHub repository; ``purpose`` follows OWNER/REPO in the help."""
    p.add_argument("--repository", required=required, help=f"OWNER/REPO{purpose}")


def add_commands(sub: argparse._SubParsersAction, *, env_args: ArgAdder, cloud_args: ArgAdder) -> None:
    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text)

    p = add("env-for-branch", "print the environment a branch deploys (from `branch:` in environments/)")
    p.add_argument("branch")
    p = add(
        "resolve",
        "print (and write to $GITHUB_OUTPUT) what a workflow needs about a target: "
        "environment, suffix, region, roles, approval and destroy protection",
    )
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--branch", help="the long-lived environment this branch deploys")
    group.add_argument("--pr", type=argtypes.pr_number, help="the ephemeral environment of pull request N")
    group.add_argument("--suffix", help="the environment instance with this suffix")
    group.add_argument(
        "--ephemeral", action="store_true", help="the ephemeral template itself (roles; no suffix)"
    )
    p = add("list-environments", "print environment names as JSON (output `environments`) for a job matrix")
    p.add_argument(
        "--long-lived", action="store_true", help="only environments with a branch (not templates)"
    )
    _checks(add)
    _operations(add, env_args=env_args, cloud_args=cloud_args)
    _simulate(add)


def _checks(add: Adder) -> None:
    p = add(
        "promotion-check",
        "fail a pull request into a protected branch from a source its environment's "
        "`promote_from` does not list",
    )
    p.add_argument("--base", required=True, help="the PR's base branch")
    p.add_argument("--head", required=True, help="the PR's head branch")
    p.add_argument("--head-repository", default=None, help="OWNER/REPO the head branch lives in")
    _repository(p, " of this repository", required=False)
    p = add(
        "approval-check",
        "fail if the environment file asks for approval but its GitHub environment has no "
        "required reviewers (GitHub API, $GITHUB_TOKEN with actions: read)",
    )
    p.add_argument("--branch", required=True, help="the branch being deployed")
    _repository(p)


def _operations(add: Adder, *, env_args: ArgAdder, cloud_args: ArgAdder) -> None:
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
    p = add(
        "destroy-check",
        "validate a destroy request (suffix, repeated confirmation, protection) before any "
        "credentials are issued; prints the target like `resolve`",
    )
    p.add_argument("--suffix", required=True)
    p.add_argument("--confirm", required=True)
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
    p = add(
        "janitor",
        "destroy ephemeral environments whose PR is not open or whose last deploy is older "
        "than ephemeral.ttl_hours",
    )
    cloud_args(p)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--open-prs", type=argtypes.pr_list, help="comma-separated open PR numbers ('' for none)"
    )
    _repository(source, ": list open PRs via the API ($GITHUB_TOKEN)", required=False)
    p.add_argument(
        "--now", type=argtypes.iso_time, default=None, help="pretend it is this UTC time (ISO 8601)"
    )
    p.add_argument("--dry-run", action="store_true", help="decide and report, destroy nothing")
    p.add_argument("--report", type=Path, default=None, help="write the Markdown report here")
    p = add(
        "bootstrap-oidc",
        "synthesize and plan (with --apply: apply) the account's GitHub OIDC provider and CI roles; "
        "run once per AWS account by an administrator",
    )
    env_args(p)
    cloud_args(p)
    _repository(p, " whose workflows may assume the roles")
    p.add_argument("--default-branch", default="main", help="where scheduled drift runs (default: main)")
    p.add_argument("--existing-provider", action="store_true", help="the account already has the provider")
    p.add_argument("--apply", action="store_true", help="apply the plan (default: plan only)")


def _simulate(add: Adder) -> None:
    """``simulate`` (the embedded AWS only: the workflows themselves say --cloud aws)."""
    p = add("simulate", "run the workflow file of a GitHub event through act, locally, on the embedded AWS")
    p.add_argument("event", choices=simulate.EVENTS)
    p.add_argument("--pr", type=argtypes.pr_number, help="pull request number (pull_request, close)")
    p.add_argument("--base", help="the PR's base branch (pull_request; close: default its last base)")
    p.add_argument("--head", default="feature/simulated", help="the PR's head branch (pull_request)")
    p.add_argument(
        "--action", choices=simulate.PR_ACTIONS, default="opened", help="pull_request activity type"
    )
    p.add_argument("--previous-base", help="edited: the base branch the PR was retargeted from")
    p.add_argument("--fork", metavar="OWNER/REPO", help="pull_request: the head branch lives in this fork")
    p.add_argument("--branch", help="the pushed branch (push)")
    p.add_argument("--suffix", help="the suffix to destroy (destroy)")
    p.add_argument("--confirm", help="the suffix again (destroy)")
    p.add_argument("--ref", default="main", help="destroy: the branch the dispatch runs on (default: main)")
    p.add_argument(
        "--approve",
        action="append",
        default=[],
        metavar="ENV",
        help="a reviewer approves jobs of this GitHub environment (repeatable)",
    )
    p.add_argument(
        "--skip-jobs",
        default="",
        metavar="JOB,...",
        help="replace these jobs' steps by a no-op (shown as such); e.g. lint,unit already run",
    )
    p.add_argument(
        "--stacks", default=None, help="comma-separated stack subset (as $TAP_STACKS in every job)"
    )
    p.add_argument(
        "--worktree",
        type=Path,
        default=None,
        help="the checked-out tree act runs: a git work tree holding the PR's head or the pushed "
        "commit (default: this repository's work tree)",
    )
    p.add_argument("--out", type=Path, default=None, help="where runs, artifacts and the fake GitHub live")
    p.add_argument("--port", type=int, default=None, help="emulator port if one is started")


def add_seal(sub: argparse._SubParsersAction, *, env_args: ArgAdder) -> None:
    p = sub.add_parser(
        "seal",
        help="encrypt the saved plans (cdktf.out, without .terraform/) with $TAP_PLAN_KEY for the apply job",
        description="saved plans hold the prior state, secrets included: the deploy workflow uploads "
        "them only sealed (AES-256-GCM, key derived from $TAP_PLAN_KEY), bound to the environment "
        "instance and commit",
    )
    p.add_argument("--out", type=Path, required=True, help="the sealed file to write")
    p.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=None,
        help="what to seal (default: cdktf.out, or the stack's folder)",
    )
    _binding_args(p, env_args)
    p = sub.add_parser(
        "unseal",
        help="authenticate, decrypt and extract a file written by `seal` (needs the same $TAP_PLAN_KEY)",
        description="refuses a wrong key, a changed file, or a file sealed for another environment "
        "instance or commit, before writing anything",
    )
    p.add_argument("sealed", type=Path, help="the file `seal` wrote")
    p.add_argument(
        "--into", type=Path, default=None, help="where to extract (default: cdktf.out, or the stack's folder)"
    )
    _binding_args(p, env_args)


def _binding_args(p: argparse.ArgumentParser, env_args: ArgAdder) -> None:
    env_args(p)
    p.add_argument(
        "--stack",
        default=None,
        help="one stack's saved plan (cdktf.out/stacks/STACK), bound to that stack: one deploy job per stack",
    )
    p.add_argument(
        "--commit",
        default=None,
        help="the commit the plans were made from (default: $TAP_COMMIT, then $GITHUB_SHA, "
        "then `git rev-parse HEAD`)",
    )


def add_drift_issues(sub: argparse._SubParsersAction) -> None:
    help_text = "open, update or close one GitHub issue per environment from the drift reports"
    p = sub.add_parser(name="drift-issues", help=help_text, description=help_text)
    p.add_argument("--dir", type=Path, required=True, help="where `drift` wrote drift-<env>.md and .json")
    _repository(p, " ($GITHUB_TOKEN with issues: write)")
