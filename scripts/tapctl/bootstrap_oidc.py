"""``scripts/tap bootstrap-oidc``: synthesize, plan and (with ``--apply``) apply the
per-account GitHub OIDC bootstrap (:mod:`lib.stacks.github_oidc`).

Run once per AWS account by an administrator with credentials of that account
(``--cloud aws``); on the embedded AWS it proves the same Terraform applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lib.config import Target, load_all
from lib.config.settings.github_oidc import GithubOidcSettings, ci_roles
from scripts.tapctl import commands, paths, ui
from scripts.tapctl.plans import PlanSummary, summarize
from scripts.tapctl.terraform import Terraform, check_version, find_binary

PLAN_FILE = "tfplan"


@dataclass
class BootstrapResult:
    stack_dir: Path
    plan: PlanSummary
    applied: bool
    roles: list[str]


def run(
    session: commands.Session, *, settings: GithubOidcSettings, apply: bool, outdir: Path | None = None
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
        ui.info(commands.bootstrap(session))
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
