"""The base every system stack builds on: provider, backend, tags, naming."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeVar

from cdktf import Aspects, S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from lib.config import Target
from lib.config.settings import StackSettings
from lib.constructs.tagging import TaggingAspect
from lib.constructs.validation import ValidationAspect
from lib.naming import Namer

S = TypeVar("S", bound=StackSettings)


@dataclass(frozen=True)
class StackContext:
    """Everything a stack needs to know about where it is deployed."""

    target: Target
    stack: str

    @property
    def env(self):
        return self.target.env

    @property
    def suffix(self) -> str:
        return self.target.suffix

    @property
    def region(self) -> str:
        return self.target.env.region_for(self.stack)

    @property
    def settings(self) -> StackSettings:
        return self.target.env.settings_for(self.stack)

    def settings_as(self, model: type[S]) -> S:
        """The stack's settings, typed: the registry wires ``model`` to this stack's name."""
        settings = self.settings
        if not isinstance(settings, model):
            raise TypeError(f"{self.stack} needs {model.__name__}, got {type(settings).__name__}")
        return settings

    @property
    def namer(self) -> Namer:
        env = self.target.env
        return Namer(env.project, env.name, self.suffix, self.region, env.account_id)

    @property
    def state_key(self) -> str:
        return f"{self.suffix}/{self.stack}.tfstate"

    def tags(self) -> dict[str, str]:
        """Default tags: a pure function of the environment files and the target, so a
        plan made by CI, by drift or on a laptop never shows tag churn. Who or what ran
        the synth (author, commit, PR) goes into the synth metadata, not here."""
        env = self.target.env
        tags = {
            "Project": env.project,
            "Environment": env.name,
            "EnvironmentSuffix": self.suffix,
            "Stack": self.stack,
            "Repository": env.repository,
        }
        return {**tags, **env.tags}


class TapStack(TerraformStack):
    """A Terraform stack with the AWS provider, the S3 backend and default tags.

    The synthesized JSON names no endpoint and holds no credential: where it
    deploys (real AWS or the embedded emulator) is decided only by the
    environment variables of the Terraform process.
    """

    #: Stack names (environment-file keys) this stack must be applied after.
    depends_on: ClassVar[tuple[str, ...]] = ()

    def __init__(self, scope: Construct, *, ctx: StackContext) -> None:
        super().__init__(scope, ctx.stack)
        self.ctx = ctx
        env = ctx.env
        AwsProvider(
            self,
            "aws",
            region=ctx.region,
            allowed_account_ids=[env.account_id],
            default_tags=[AwsProviderDefaultTags(tags=ctx.tags())],
        )
        S3Backend(
            self,
            bucket=env.state.bucket,
            key=ctx.state_key,
            region=env.state.region,
            encrypt=True,
        )
        # Native S3 locking (Terraform >= 1.10): no DynamoDB lock table.
        self.add_override("terraform.backend.s3.use_lockfile", True)
        # Default tags on every taggable resource (its own tags win), and the
        # synth-time rules (no wildcard IAM actions, log retention set).
        Aspects.of(self).add(TaggingAspect(ctx.tags()))
        Aspects.of(self).add(ValidationAspect())

    @property
    def namer(self) -> Namer:
        return self.ctx.namer
