"""``scripts/tap bootstrap-oidc``: synthesize, plan and (with ``--apply``) apply the
per-account GitHub OIDC bootstrap (:mod:`lib.stacks.github_oidc`).

Run once per AWS account by an administrator with credentials of that account
(``--cloud aws``); on the embedded AWS it proves the same Terraform applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lib.config import Target, load_all
from lib.config.settings.github_oidc import (
    GithubOidcSettings,
    OidcConfigError,
    ci_roles,
    github_environment_settings,
)
from scripts.tapctl.core import paths, ui
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.core.terraform import Terraform
from scripts.tapctl.core.terraform_setup import check_version, find_binary
from scripts.tapctl.gitops import github
from scripts.tapctl.stages import state
from scripts.tapctl.stages.plans import PlanSummary, summarize
from scripts.tapctl.stages.session import Session, SessionOptions, open_session, preflight

PLAN_FILE = "tfplan"


@dataclass
class BootstrapResult:
    stack_dir: Path
    plan: PlanSummary
    applied: bool
    roles: list[str]


def run(
    session: Session, *, settings: GithubOidcSettings, apply: bool, outdir: Path | None = None
) -> BootstrapResult:
    """Synth the bootstrap for the account of ``session.target``, plan it, maybe apply it."""
    from lib.stacks.github_oidc import synth

    target: Target = session.target
    envs = load_all()
    account = target.env.account_id
    roles = ci_roles(envs, account, settings)
    outdir = outdir or paths.workdir() / "bootstrap-oidc" / account
    outdir.mkdir(parents=True, exist_ok=True)
    names = ", ".join(sorted({e for r in roles for e in r.environments}))
    ui.info(f"bootstrap-oidc synthesizing for account {account} ({names})")
    stack_dir = synth(home=target.env, envs=envs, settings=settings, outdir=outdir)
    if session.cloud.is_emulator:
        ui.info(state.bootstrap(session))
    binary = session.terraform or find_binary()
    check_version(binary)
    tf = Terraform(binary, stack_dir, session.cloud.env, f"bootstrap-oidc.{account}")
    tf.init()
    tf.plan(PLAN_FILE)
    summary = summarize("github-oidc", tf.show_json(PLAN_FILE))
    if apply:
        tf.apply(PLAN_FILE)
    return BootstrapResult(
        stack_dir, summary, apply, [f"{r.kind}: {r.arn} <- {', '.join(r.subjects)}" for r in roles]
    )


def command(
    target: Target,
    options: SessionOptions,
    *,
    repository: str,
    default_branch: str = "main",
    existing_provider: bool = False,
    apply: bool = False,
) -> int:
    """Plan (``apply``: apply) the bootstrap; print the roles and the GitHub environments' settings."""
    try:
        settings = GithubOidcSettings(
            repository=github.validate_repository(repository),
            default_branch=default_branch,
            existing_provider=existing_provider,
        )
        session = open_session(target, options, terraform=preflight())
        result = run(session, settings=settings, apply=apply)
    except OidcConfigError as exc:
        raise TapError(str(exc)) from None
    for line in result.roles:
        print(line)
    for line in github_environment_settings(load_all(), target.env.account_id, settings):
        print(line)
    print(f"plan: {result.plan.counts()} ({result.stack_dir})")
    print("applied" if result.applied else "not applied: re-run with --apply to create the roles")
    return 0
