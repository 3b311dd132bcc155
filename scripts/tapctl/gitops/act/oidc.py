"""Would GitHub give this job that role? The local stand-in for OIDC + STS.

On GitHub a job gets a role only if its OIDC token's ``sub`` claim is one the
role's trust policy lists (``scripts/tap bootstrap-oidc`` writes them from
:func:`lib.config.settings.github_oidc.ci_roles`). Locally the same trust data
decides:

- a pull request from a fork gets no token at all;
- a plan role needs the job's own claim (``pull_request``, or
  ``ref:refs/heads/<branch>`` for push, schedule and dispatch);
- an apply role trusts only ``environment:<name>`` claims; a job of a pull
  request event may use only the ephemeral template's, and an environment
  whose file sets ``protection.approval_required`` needs the approval the
  simulation recorded (``scripts/tap simulate --approve <env>``).

A granted role yields the embedded AWS's credentials for the role's account;
every decision is appended to ``$TAP_ACT_OUT/credentials.jsonl``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.config import load_all
from lib.config.settings.github_oidc import CiRole, GithubOidcSettings, OidcConfigError, ci_roles, subject


class Refused(Exception):
    """GitHub (or STS) would not give the job this role."""


@dataclass
class Grant:
    role_arn: str
    account_id: str
    region: str
    subject: str
    environment: dict[str, str] = field(default_factory=dict)


def _record(entry: dict[str, Any]) -> None:
    out = os.environ.get("TAP_ACT_OUT")
    if out:
        with open(Path(out) / "credentials.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")


def find_role(role_arn: str, repository: str, default_branch: str) -> CiRole:
    envs = load_all()
    accounts = {env.account_id for env in envs.values()}
    for account in sorted(accounts):
        try:
            roles = ci_roles(
                envs, account, GithubOidcSettings(repository=repository, default_branch=default_branch)
            )
        except OidcConfigError:
            continue
        for role in roles:
            if role.arn == role_arn:
                return role
    raise Refused(
        f"{role_arn or '(empty role-to-assume)'} is not a role `scripts/tap bootstrap-oidc` creates"
    )


def decide(role: CiRole, *, event_name: str, event: dict[str, Any], ref: str, repository: str) -> str:
    """The ``sub`` claim under which the job gets ``role``; :class:`Refused` otherwise."""
    pr = event.get("pull_request") or {}
    if event_name.startswith("pull_request"):
        head = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
        if head != repository:
            raise Refused(f"a pull request from {head or 'a fork'} gets no OIDC token from GitHub")
    if role.kind == "plan":
        claim = subject(repository, "pull_request" if event_name.startswith("pull_request") else f"ref:{ref}")
        if claim not in role.subjects:
            raise Refused(f"{role.arn} trusts {', '.join(role.subjects)}; this job's token says {claim}")
        return claim
    envs = load_all()
    (name,) = role.environments[:1] or ("",)
    if event_name.startswith("pull_request") and not all(envs[e].is_ephemeral for e in role.environments):
        raise Refused(
            f"{role.arn} deploys {', '.join(role.environments)}: a pull request job may not assume it"
        )
    approved = {e.strip() for e in os.environ.get("TAP_ACT_APPROVALS", "").split(",") if e.strip()}
    for env_name in role.environments:
        if envs[env_name].protection.approval_required and env_name not in approved:
            raise Refused(
                f"environment {env_name!r} requires approval and no reviewer approved this run "
                f"(simulate it with --approve {env_name})"
            )
    return subject(repository, f"environment:{name}")


def emulator_environment(account_id: str, region: str) -> dict[str, str]:
    """The embedded AWS's endpoint and the account's credentials (as configure-aws-credentials exports)."""
    from scripts.tapctl.core import emulator_process

    state = emulator_process.running()
    if state is None:
        raise Refused("the embedded AWS is not running (scripts/tap simulate starts it)")
    return {
        **emulator_process.credentials_for(state, account_id),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": state.url,
        "AWS_EC2_METADATA_DISABLED": "true",
        # An API moto lacks answers HTTP 500: do not let the SDK retry for minutes.
        "AWS_MAX_ATTEMPTS": "2",
        "AWS_RETRY_MODE": "standard",
    }


def assume(
    *, role_arn: str, region: str, event_name: str, event: dict[str, Any], ref: str, repository: str, job: str
) -> Grant:
    entry: dict[str, Any] = {"job": job, "event": event_name, "role": role_arn}
    try:
        if not region:
            raise Refused("aws-region is required")
        role = find_role(role_arn, repository, os.environ.get("TAP_ACT_DEFAULT_BRANCH", "main"))
        claim = decide(role, event_name=event_name, event=event, ref=ref, repository=repository)
        grant = Grant(role.arn, role.account_id, region, claim, emulator_environment(role.account_id, region))
    except Refused as exc:
        _record({**entry, "granted": False, "reason": str(exc)})
        raise
    _record({**entry, "granted": True, "subject": claim, "account": role.account_id})
    return grant
