"""The GitHub OIDC bootstrap as data: which roles exist per account and whom they trust.

Deployed once per AWS account by an administrator (``scripts/tap bootstrap-oidc``),
never part of an environment's ``stacks:`` list. Role names come from the
environment files (``ci_roles.plan`` / ``ci_roles.apply``), so the workflows
assume exactly what the bootstrap created.

Trust (``sub`` claims, matched with ``StringEquals``, never a wildcard):

- plan role: ``repo:ORG/REPO:pull_request`` (PR plans), plus the branch the
  environment deploys from (the deploy workflow's plan job) and the default
  branch (the scheduled drift check runs there). Read-only permissions.
- apply role: only ``repo:ORG/REPO:environment:<name>`` -- a job must run in
  the GitHub environment of that name (where approvals are enforced).

Plan roles are ``ReadOnlyAccess`` plus exactly ``kms:Decrypt`` of the stack keys that
encrypt SecureString parameters: the AWS provider refreshes ``aws_ssm_parameter`` with
``GetParameter(WithDecryption=true)``, which ``ReadOnlyAccess`` alone cannot do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from lib.config.model import Environment
from lib.config.settings.base import StrictModel
from lib.naming import name_pattern

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
#: AWS managed policies (referenced, not written here).
READ_ONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
#: Everything except IAM/Organizations; IAM is granted below, scoped to the environment's names.
POWER_USER_POLICY = "arn:aws:iam::aws:policy/PowerUserAccess"
STATE_KEY = "bootstrap/github-oidc.tfstate"

_ARN = re.compile(r"^arn:aws:iam::(?P<account>[0-9]{12}):role/(?P<name>[A-Za-z0-9+=,.@_/-]{1,64})$")

#: IAM actions an apply role needs to manage the roles and policies its stacks create.
APPLY_IAM_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:CreateRole",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListPolicyVersions",
    "iam:ListRolePolicies",
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:TagPolicy",
    "iam:TagRole",
    "iam:UntagPolicy",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
)


class GithubOidcSettings(StrictModel):
    """Inputs of the bootstrap: the repository whose workflows may assume the roles."""

    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    default_branch: str = Field(default="main", pattern=r"^[A-Za-z0-9._/-]{1,100}$")
    #: Look up an existing provider instead of creating one (one per account and URL).
    existing_provider: bool = False


@dataclass(frozen=True)
class CiRole:
    """One IAM role the workflows assume."""

    kind: Literal["plan", "apply"]
    arn: str
    environments: tuple[str, ...]
    subjects: tuple[str, ...]
    state_bucket: str
    state_prefixes: tuple[str, ...]

    @property
    def name(self) -> str:
        return _parse_arn(self.arn)[1]

    @property
    def account_id(self) -> str:
        return _parse_arn(self.arn)[0]


class OidcConfigError(ValueError):
    """The environment files describe roles the bootstrap cannot build safely."""


def _parse_arn(arn: str) -> tuple[str, str]:
    match = _ARN.fullmatch(arn)
    if not match:
        raise OidcConfigError(f"{arn!r} is not an IAM role ARN")
    return match["account"], match["name"]


def subject(repository: str, claim: str) -> str:
    return f"repo:{repository}:{claim}"


def _state_prefix(env: Environment) -> str:
    """State keys a role may write: ``<suffix>/`` (``pr*`` for the ephemeral template)."""
    return "pr*" if env.is_ephemeral else f"{env.name}/"


def ci_roles(envs: dict[str, Environment], account_id: str, settings: GithubOidcSettings) -> list[CiRole]:
    """The roles to create in ``account_id``: one per distinct ARN, subjects merged."""
    repo = settings.repository
    plan: dict[str, dict[str, Any]] = {}
    apply: dict[str, dict[str, Any]] = {}
    for name, env in sorted(envs.items()):
        if env.account_id != account_id:
            continue
        for kind, arn in (("plan", env.ci_roles.plan), ("apply", env.ci_roles.apply)):
            account, _ = _parse_arn(arn)
            if account != env.account_id:
                raise OidcConfigError(
                    f"environments/{name}.yaml: ci_roles.{kind} {arn} is in account {account}, "
                    f"not the environment's account {env.account_id}"
                )
        p = plan.setdefault(
            env.ci_roles.plan, {"envs": [], "subs": [], "bucket": env.state.bucket, "pfx": []}
        )
        p["envs"].append(name)
        p["pfx"].append(_state_prefix(env))
        p["subs"].append(subject(repo, "pull_request"))
        if env.branch is not None:
            p["subs"].append(subject(repo, f"ref:refs/heads/{env.branch}"))
            p["subs"].append(subject(repo, f"ref:refs/heads/{settings.default_branch}"))
        a = apply.setdefault(
            env.ci_roles.apply, {"envs": [], "subs": [], "bucket": env.state.bucket, "pfx": []}
        )
        a["envs"].append(name)
        a["pfx"].append(_state_prefix(env))
        a["subs"].append(subject(repo, f"environment:{name}"))
    shared = sorted(set(plan) & set(apply))
    if shared:
        raise OidcConfigError(
            f"{', '.join(shared)} is both a plan and an apply role: an apply role must trust only "
            "GitHub environments, never pull requests"
        )
    roles = [
        CiRole(
            kind,
            arn,
            tuple(d["envs"]),
            tuple(dict.fromkeys(d["subs"])),
            d["bucket"],
            tuple(dict.fromkeys(d["pfx"])),
        )
        for kind, table in (("plan", plan), ("apply", apply))
        for arn, d in sorted(table.items())
    ]
    if not roles:
        raise OidcConfigError(f"no environment deploys to account {account_id}")
    return roles


def trust_policy(role: CiRole, provider_arn: str) -> dict[str, Any]:
    """The role's assume-role policy: GitHub's OIDC provider, our audience, exact subjects."""
    for sub in role.subjects:
        if "*" in sub or "?" in sub:
            raise OidcConfigError(f"{role.arn}: subject {sub!r} contains a wildcard")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GithubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": list(role.subjects),
                    }
                },
            }
        ],
    }


def state_policy(role: CiRole) -> dict[str, Any]:
    """Terraform state access: read for plans (plus the lock file), read/write for applies."""
    bucket = f"arn:aws:s3:::{role.state_bucket}"
    objects = [f"{bucket}/{p}*" if not p.endswith("*") else f"{bucket}/{p}" for p in role.state_prefixes]
    locks = [f"{o.rstrip('*')}*.tflock" for o in objects]
    write = ["s3:PutObject", "s3:DeleteObject"]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListState",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
            "Resource": bucket,
        },
        {"Sid": "ReadState", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": objects},
        {"Sid": "LockState", "Effect": "Allow", "Action": write, "Resource": locks},
    ]
    if role.kind == "apply":
        statements.append(
            {
                "Sid": "WriteState",
                "Effect": "Allow",
                "Action": [*write, "s3:GetObjectVersion", "s3:DeleteObjectVersion"],
                "Resource": objects,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def iam_policy(role: CiRole, envs: dict[str, Environment]) -> dict[str, Any] | None:
    """Apply roles manage only IAM roles/policies named for their environments (``<env>-*``)."""
    if role.kind != "apply":
        return None
    resources = [
        f"arn:aws:iam::{role.account_id}:{kind}/{envs[name].name}-*"
        for name in role.environments
        for kind in ("role", "policy")
    ]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ManageEnvironmentIam",
                "Effect": "Allow",
                "Action": list(APPLY_IAM_ACTIONS),
                "Resource": resources,
            }
        ],
    }


#: Stacks with SecureString parameters encrypted by the stack's own key, which a plan
#: refreshes with decryption: stack -> (the key alias's service name, the parameters'
#: folder under ``/<project>/<suffix>/``). Tested against the synthesized stacks.
SECURE_PARAMETERS: dict[str, tuple[str, str]] = {"iot_pipeline": ("iot", "iot-pipeline")}


def _suffix_glob(env: Environment) -> str:
    return "pr*" if env.is_ephemeral else env.name


def decrypt_policy(role: CiRole, envs: dict[str, Environment]) -> dict[str, Any] | None:
    """Plan roles: ``kms:Decrypt`` only through SSM, only with the stack keys (by alias),
    only for those stacks' parameters (SSM's encryption context names the parameter)."""
    if role.kind != "plan":
        return None
    regions, aliases, parameters = set(), set(), set()
    for name in role.environments:
        env = envs[name]
        for stack, (service, folder) in SECURE_PARAMETERS.items():
            if stack not in env.stacks:
                continue
            region, suffix = env.region_for(stack), _suffix_glob(env)
            regions.add(region)
            aliases.add(f"alias/{name_pattern(env.name, region, service, suffix)}")
            parameters.add(
                f"arn:aws:ssm:{region}:{role.account_id}:parameter/{env.project}/{suffix}/{folder}/*"
            )
    if not aliases:
        return None
    statement = {
        "Sid": "DecryptSecureParametersOnRefresh",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": [f"arn:aws:kms:{r}:{role.account_id}:key/*" for r in sorted(regions)],
        "Condition": {
            "StringEquals": {"kms:ViaService": [f"ssm.{r}.amazonaws.com" for r in sorted(regions)]},
            "ForAnyValue:StringLike": {"kms:ResourceAliases": sorted(aliases)},
            "StringLike": {"kms:EncryptionContext:PARAMETER_ARN": sorted(parameters)},
        },
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


# -- GitHub environments (settings made once in the repository, not by Terraform) ---------


def deployment_branches(env: Environment, default_branch: str) -> tuple[str, ...] | None:
    """The branches the GitHub environment ``env.name`` must accept deployments from
    (``None``: all branches).

    The apply role trusts only ``environment:<name>``, whatever the branch, and the CLI
    (``destroy-check``) decides destroys by ``protection.destroy_allowed`` alone. What
    still looks at the branch is GitHub itself: it refuses to start a job in an
    environment from a branch the environment's deployment-branch policy does not list
    (the "branch rule"). Deploys run on the environment's own branch; a
    ``workflow_dispatch`` (destroy) runs on the default branch, so an environment that
    may be destroyed also accepts the default branch. Pull-request environments run on
    ``pull_request`` refs: all branches."""
    if env.is_ephemeral or env.branch is None:
        return None
    branches = [env.branch]
    if env.protection.destroy_allowed:
        branches.append(default_branch)
    return tuple(dict.fromkeys(branches))


def github_environment_settings(
    envs: dict[str, Environment], account_id: str, settings: GithubOidcSettings
) -> list[str]:
    """One line per GitHub environment whose roles live in ``account_id``: what to set once."""
    lines = []
    for name, env in sorted(envs.items()):
        if env.account_id != account_id:
            continue
        branches = deployment_branches(env, settings.default_branch)
        allowed = "all branches" if branches is None else ", ".join(branches)
        reviewers = "required reviewers" if env.protection.approval_required else "no reviewers"
        lines.append(f"GitHub environment {name}: deployment branches {allowed}; {reviewers}")
    return lines


def managed_policy(role: CiRole) -> str:
    return READ_ONLY_POLICY if role.kind == "plan" else POWER_USER_POLICY


# -- API Gateway's CloudWatch role (an account setting, one per region) -------------

#: AWS's managed policy for API Gateway execution and access logs (logs:* writes only).
APIGW_LOGS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def apigateway_logs_role_name(project: str) -> str:
    """The account's one role API Gateway assumes to write logs (not per environment:
    the setting it goes into is per account and region)."""
    return f"{project}-apigw-cloudwatch"


def apigateway_regions(envs: dict[str, Environment], account_id: str) -> list[str]:
    """Every region the account's environments deploy a stack to. A REST API stage with
    execution or access logging fails to deploy until the region's API Gateway account
    setting names a CloudWatch role, so the bootstrap sets it in each of them."""
    return sorted(
        {
            env.region_for(stack)
            for env in envs.values()
            if env.account_id == account_id
            for stack in env.stacks
        }
    )


def apigateway_trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
