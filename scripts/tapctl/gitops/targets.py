"""Which environment instance a workflow acts on, and what it needs to know about it.

``resolve`` (by branch, pull request, suffix or the ephemeral template),
``list-environments`` (a job matrix), ``env-for-branch`` and ``destroy-check``
print these facts and write them to ``$GITHUB_OUTPUT``: the workflows hold no
copy of ``environments/*.yaml``.
"""

from __future__ import annotations

import json

from lib.config import Target, known_environments, resolve_target
from scripts.tapctl.gitops import github, promotion
from scripts.tapctl.stages import destroy

#: What a job matrix entry carries (drift: check out the branch, assume the plan role).
MATRIX_KEYS = ("environment", "suffix", "branch", "region", "plan_role")


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
        "max_parallel": str(env.fan_out.max_parallel),
    }


def env_for_branch_command(branch: str) -> int:
    print(promotion.env_for_branch(branch).name)
    return 0


def resolve_command(
    *, branch: str | None = None, pr: int | None = None, suffix: str | None = None, ephemeral: bool = False
) -> int:
    """One of ``branch``, ``pr``, ``suffix`` or ``ephemeral`` (the template itself: no suffix)."""
    if branch is not None:
        target = resolve_target(promotion.env_for_branch(branch).name, None)
    elif pr is not None:
        target = resolve_target(promotion.ephemeral_template().name, f"pr{pr}")
    elif suffix is not None:
        target = resolve_target(promotion.env_for_suffix(suffix).name, suffix)
    else:
        target = resolve_target(promotion.ephemeral_template().name)
    values = target_outputs(target)
    if ephemeral:
        values["suffix"] = ""
    print(github.write_outputs(values), end="")
    return 0


def list_environments_command(*, long_lived: bool) -> int:
    names = promotion.long_lived() if long_lived else known_environments()
    matrix = []
    for name in names:
        target = resolve_target(name)
        matrix.append({k: v for k, v in target_outputs(target).items() if k in MATRIX_KEYS})
    print(github.write_outputs({"environments": json.dumps(names), "matrix": json.dumps(matrix)}), end="")
    return 0


def destroy_target(suffix: str, confirm: str | None, *, cloud_kind: str) -> Target:
    """The target a destroy request names, after the destroy rule (:func:`stages.destroy.validate`)."""
    env = promotion.env_for_suffix(suffix)
    target = resolve_target(env.name, suffix)
    destroy.validate(target, confirm=confirm, cloud_kind=cloud_kind)
    return target


def destroy_check_command(suffix: str, confirm: str) -> int:
    """The destroy workflow's check, before any credentials are issued (as on real AWS)."""
    target = destroy_target(suffix, confirm, cloud_kind="aws")
    print(github.write_outputs(target_outputs(target)), end="")
    return 0
