"""The base every system stack builds on: provider, backend, tags, naming."""

from __future__ import annotations

from typing import Any, ClassVar

from cdktf import Aspects, S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from lib.constructs.tagging import TaggingAspect
from lib.constructs.validation import ValidationAspect
from lib.naming import Namer
from lib.stacks.context import StackContext

__all__ = ["StackContext", "TapStack"]


class TapStack(TerraformStack):
    """A Terraform stack with the AWS provider, the S3 backend and default tags.

    The synthesized JSON names no endpoint and holds no credential: where it
    deploys (real AWS or the embedded emulator) is decided only by the
    environment variables of the Terraform process.
    """

    #: Stack names (environment-file keys) this stack must be applied after.
    depends_on: ClassVar[tuple[str, ...]] = ()

    def __init__(self, scope: Construct, *, ctx: StackContext[Any]) -> None:
        super().__init__(scope, ctx.stack)
        self.ctx = ctx
        #: The stack's own settings (a subclass annotates their model).
        self.settings = ctx.settings
        AwsProvider(
            self,
            "aws",
            region=ctx.region,
            allowed_account_ids=[ctx.account_id],
            default_tags=[AwsProviderDefaultTags(tags=dict(ctx.tags))],
        )
        S3Backend(
            self,
            bucket=ctx.state_bucket,
            key=ctx.state_key,
            region=ctx.state_region,
            encrypt=True,
        )
        # Native S3 locking (Terraform >= 1.10): no DynamoDB lock table.
        self.add_override("terraform.backend.s3.use_lockfile", True)
        # Default tags on every taggable resource (its own tags win), and the
        # synth-time rules (no wildcard IAM actions, log retention set).
        Aspects.of(self).add(TaggingAspect(dict(ctx.tags)))
        Aspects.of(self).add(ValidationAspect())

    @property
    def namer(self) -> Namer:
        return self.ctx.namer

    @property
    def destroyable(self) -> bool:
        """May the workflows destroy this environment? If not, what makes tearing down hard
        (deletion protection, final snapshots, longer key deletion windows) is on."""
        return self.ctx.destroy_allowed
