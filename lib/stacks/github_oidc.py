"""Per-account bootstrap: GitHub's OIDC provider, the roles the workflows assume, and
API Gateway's CloudWatch role set in every region the account deploys to.

Not an environment stack (it is in no ``stacks:`` list): an administrator
deploys it once per AWS account with ``scripts/tap bootstrap-oidc``. What it
trusts is decided in :mod:`lib.config.settings.github_oidc` (plain data, unit
tested); this module only turns that data into resources.
"""

from __future__ import annotations

import json
from pathlib import Path

from cdktf import App, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.data_aws_iam_openid_connect_provider import DataAwsIamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from lib.config.model import Environment
from lib.config.settings.github_oidc import (
    APIGW_LOGS_POLICY,
    AUDIENCE,
    GITHUB_OIDC_URL,
    STATE_KEY,
    CiRole,
    GithubOidcSettings,
    apigateway_logs_role_name,
    apigateway_regions,
    apigateway_trust_policy,
    ci_roles,
    decrypt_policy,
    iam_policy,
    managed_policy,
    state_policy,
    trust_policy,
)

STACK_NAME = "github-oidc"


class GithubOidcStack(TerraformStack):
    """The OIDC provider (created or looked up) and every CI role of one account."""

    def __init__(
        self,
        scope: Construct,
        *,
        home: Environment,
        envs: dict[str, Environment],
        settings: GithubOidcSettings,
    ) -> None:
        super().__init__(scope, STACK_NAME)
        self._home = home
        self._tags = {"Project": home.project, "Stack": STACK_NAME, "Repository": settings.repository}
        self._provider(home.region)
        S3Backend(self, bucket=home.state.bucket, key=STATE_KEY, region=home.state.region, encrypt=True)
        self.add_override("terraform.backend.s3.use_lockfile", True)

        if settings.existing_provider:
            provider_arn = DataAwsIamOpenidConnectProvider(self, "github", url=GITHUB_OIDC_URL).arn
        else:
            provider_arn = IamOpenidConnectProvider(
                self, "github", url=GITHUB_OIDC_URL, client_id_list=[AUDIENCE]
            ).arn
        self.roles = ci_roles(envs, home.account_id, settings)
        for role in self.roles:
            self._role(role, provider_arn, envs)
        TerraformOutput(self, "GithubOidcProviderArn", value=provider_arn)
        self._apigateway_logging(envs)

    def _provider(self, region: str) -> AwsProvider:
        """The home region's provider, or an aliased one for another region."""
        alias = None if region == self._home.region else region.replace("-", "_")
        return AwsProvider(
            self,
            "aws" if alias is None else f"aws-{region}",
            alias=alias,
            region=region,
            allowed_account_ids=[self._home.account_id],
            default_tags=[AwsProviderDefaultTags(tags=self._tags)],
        )

    def _apigateway_logging(self, envs: dict[str, Environment]) -> None:
        """One role API Gateway assumes to write logs, named in each region's account setting."""
        role = IamRole(
            self,
            "apigw-cloudwatch",
            name=apigateway_logs_role_name(self._home.project),
            description="API Gateway execution and access logs to CloudWatch (account setting)",
            assume_role_policy=json.dumps(apigateway_trust_policy(), separators=(",", ":")),
        )
        attached = IamRolePolicyAttachment(
            self, "apigw-cloudwatch-logs", role=role.name, policy_arn=APIGW_LOGS_POLICY
        )
        for region in apigateway_regions(envs, self._home.account_id):
            provider = None if region == self._home.region else self._provider(region)
            ApiGatewayAccount(
                self,
                f"apigw-account-{region}",
                provider=provider,
                cloudwatch_role_arn=role.arn,
                depends_on=[attached],  # API Gateway checks the role's permissions when it is set
            )
        TerraformOutput(self, "ApiGatewayCloudwatchRoleArn", value=role.arn)

    def _role(self, role: CiRole, provider_arn: str, envs: dict[str, Environment]) -> None:
        rid = role.name.replace("/", "-")
        resource = IamRole(
            self,
            f"role-{rid}",
            name=role.name,
            description=f"GitHub Actions {role.kind} role for {', '.join(role.environments)}",
            assume_role_policy=json.dumps(trust_policy(role, provider_arn), separators=(",", ":")),
            max_session_duration=3600,
        )
        IamRolePolicyAttachment(self, f"managed-{rid}", role=resource.name, policy_arn=managed_policy(role))
        inline = {  # construct id prefix -> (policy name, document or None)
            "state": ("terraform-state", state_policy(role)),
            "iam": ("environment-iam", iam_policy(role, envs)),
            "decrypt": ("secure-parameters", decrypt_policy(role, envs)),
        }
        for prefix, (name, document) in inline.items():
            if document is not None:
                IamRolePolicy(
                    self,
                    f"{prefix}-{rid}",
                    name=name,
                    role=resource.id,
                    policy=json.dumps(document, separators=(",", ":")),
                )
        TerraformOutput(self, f"{role.kind}-{rid}-arn", value=resource.arn)


def synth(
    *, home: Environment, envs: dict[str, Environment], settings: GithubOidcSettings, outdir: Path
) -> Path:
    """Synthesize the bootstrap stack into ``outdir``; return its stack directory."""
    app = App(outdir=str(outdir))
    GithubOidcStack(app, home=home, envs=envs, settings=settings)
    app.synth()
    return outdir / "stacks" / STACK_NAME
