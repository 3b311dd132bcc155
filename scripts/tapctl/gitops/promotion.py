"""Branch -> environment mapping and the promotion rule, read from ``environments/*.yaml``.

Each long-lived environment file names the ``branch`` it deploys from and, in
``promote_from``, the branches whose pull requests may merge into it. The
workflows hold no copy of this mapping: they ask the CLI (``promotion-check``,
and ``approval-check`` for the GitHub environment's reviewers).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from lib.config import Environment, load_all
from scripts.tapctl.core.errors import StageFailed, TapError
from scripts.tapctl.gitops import github


class PromotionRefused(TapError):
    """A pull request into a protected branch from a source it does not allow."""

    exit_code = 1


def branch_map(envs: dict[str, Environment] | None = None) -> dict[str, str]:
    """``{branch: environment}`` for every long-lived environment."""
    envs = load_all() if envs is None else envs
    return {env.branch: name for name, env in sorted(envs.items()) if env.branch is not None}


def env_for_branch(branch: str, envs: dict[str, Environment] | None = None) -> Environment:
    envs = load_all() if envs is None else envs
    mapping = branch_map(envs)
    if branch not in mapping:
        known = ", ".join(f"{b} -> {e}" for b, e in sorted(mapping.items()))
        raise TapError(
            f"branch {branch!r} deploys no environment (set `branch:` in an environments/*.yaml file); "
            f"known branches: {known}"
        )
    return envs[mapping[branch]]


def long_lived(envs: dict[str, Environment] | None = None) -> list[str]:
    envs = load_all() if envs is None else envs
    return sorted(name for name, env in envs.items() if not env.is_ephemeral)


def ephemeral_template(envs: dict[str, Environment] | None = None) -> Environment:
    envs = load_all() if envs is None else envs
    templates = [env for env in envs.values() if env.is_ephemeral]
    if len(templates) != 1:
        raise TapError(
            f"expected exactly one ephemeral template in environments/ (with `ephemeral:`), "
            f"found {len(templates)}"
        )
    return templates[0]


def env_for_suffix(suffix: str, envs: dict[str, Environment] | None = None) -> Environment:
    """The environment a suffix belongs to: a long-lived one's own name, or the ephemeral template."""
    envs = load_all() if envs is None else envs
    if suffix in envs and not envs[suffix].is_ephemeral:
        return envs[suffix]
    template = ephemeral_template(envs)
    if template.ephemeral is not None and re.fullmatch(template.ephemeral.suffix_pattern, suffix):
        return template
    raise TapError(
        f"suffix {suffix!r} names no environment: use a long-lived environment's name "
        f"({', '.join(long_lived(envs))}) or an ephemeral suffix matching "
        f"{template.ephemeral.suffix_pattern if template.ephemeral else '?'} (e.g. pr42)"
    )


@dataclass(frozen=True)
class PromotionDecision:
    allowed: bool
    reason: str


def check_promotion(
    *,
    base: str,
    head: str,
    same_repository: bool = True,
    envs: dict[str, Environment] | None = None,
) -> PromotionDecision:
    """May a pull request from ``head`` merge into ``base``?

    A base branch that deploys an environment with a non-empty ``promote_from``
    is protected: only those source branches, from this repository (a fork's
    ``staging`` branch is not ours), may merge into it. Other bases accept any
    source (feature branches into ``dev``; branches that deploy nothing).
    """
    envs = load_all() if envs is None else envs
    mapping = branch_map(envs)
    if base not in mapping:
        return PromotionDecision(True, f"{base!r} deploys no environment: any source may merge")
    env = envs[mapping[base]]
    if not env.promote_from:
        return PromotionDecision(
            True, f"{base!r} deploys {env.name!r}, which accepts pull requests from any branch"
        )
    allowed = ", ".join(env.promote_from)
    rule = f"environments/{env.name}.yaml allows promote_from: [{allowed}]"
    if head not in env.promote_from:
        return PromotionDecision(
            False,
            f"pull request {head!r} -> {base!r} refused: {base!r} deploys {env.name!r} and {rule}; "
            f"promote through {' -> '.join(_path_to(base, envs))}",
        )
    if not same_repository:
        return PromotionDecision(
            False, f"pull request from a fork's {head!r} into {base!r} refused: promotion is in-repository"
        )
    return PromotionDecision(True, f"promotion {head!r} -> {base!r} ({env.name}) is allowed: {rule}")


def _path_to(base: str, envs: dict[str, Environment]) -> list[str]:
    """The promotion chain ending at ``base``, e.g. ``dev -> staging -> main``."""
    mapping = branch_map(envs)
    chain = [base]
    seen = {base}
    while chain[0] in mapping:
        sources = envs[mapping[chain[0]]].promote_from
        if not sources or sources[0] in seen:
            break
        chain.insert(0, sources[0])
        seen.add(sources[0])
    return chain


def promotion_check_command(
    *, base: str, head: str, head_repository: str | None = None, repository: str | None = None
) -> int:
    same = head_repository is None or repository is None or head_repository == repository
    decision = check_promotion(base=base, head=head, same_repository=same)
    github.append_step_summary(f"**Promotion check:** {decision.reason}")
    if not decision.allowed:
        raise PromotionRefused(decision.reason)
    print(decision.reason)
    return 0


def approval_check_command(*, branch: str, repository: str) -> int:
    """Fail when the environment file asks for approval but GitHub has no required reviewers."""
    env = env_for_branch(branch)
    if not env.protection.approval_required:
        print(f"{env.name}: no approval required (protection.approval_required is false)")
        return 0
    rules = github.environment_protection_rules(
        github.validate_repository(repository), env.name, token=os.environ.get("GITHUB_TOKEN")
    )
    if "required_reviewers" not in rules:
        found = ", ".join(rules) or "none"
        raise StageFailed(
            f"environments/{env.name}.yaml sets protection.approval_required, but the GitHub environment "
            f"{env.name!r} of {repository} has no required reviewers (rules: {found}): "
            "add reviewers in Settings -> Environments before deploying"
        )
    print(f"{env.name}: approval gate in place (required reviewers)")
    return 0
