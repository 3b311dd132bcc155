"""The typed environment model loaded from ``environments/*.yaml``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator, model_validator
from typing_extensions import TypedDict

from lib.config.settings import StackSettings, StrictModel
from lib.config.types import AccountId, BranchName, BucketName, IamRoleArn, Region, RepositoryName

if TYPE_CHECKING:
    from lib.stacks import StackEntry


def stack_registry() -> Mapping[str, StackEntry]:
    """The stack registry (:data:`lib.stacks.STACKS`). Imported when first needed: the
    registry imports the settings models, which import this package."""
    from lib.stacks import STACKS

    return STACKS


@cache
def _settings_adapter(models: tuple[tuple[str, type[StackSettings]], ...]) -> TypeAdapter[dict[str, Any]]:
    """Validates ``{stack: raw settings}``, each against its model; an error's location
    is ``<stack>.<key>``, so it reads ``settings.<stack>.<key>`` in the environment."""
    # The keys are the registry's stack names: only the functional syntax takes them as data.
    by_stack = TypedDict("SettingsByStack", dict(models), total=False)  # type: ignore[misc]  # noqa: UP013
    by_stack.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return TypeAdapter(by_stack)


class StateBackend(StrictModel):
    """Where Terraform state lives: ``s3://<bucket>/<suffix>/<stack>.tfstate``."""

    bucket: BucketName
    region: Region


class CiRoles(StrictModel):
    """IAM roles the workflows assume through GitHub OIDC."""

    plan: IamRoleArn
    apply: IamRoleArn


class Protection(StrictModel):
    #: May a ``workflow_dispatch`` (or ``tap destroy``) destroy this environment?
    destroy_allowed: bool
    #: Does an apply wait for a GitHub environment approval?
    approval_required: bool


class Ephemeral(StrictModel):
    """Only for templates of ephemeral environments (``pr.yaml``)."""

    suffix_pattern: str = r"^pr[0-9]+$"
    ttl_hours: int = Field(ge=1, le=24 * 30)

    @field_validator("suffix_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class FanOut(StrictModel):
    """How the workflows spread an environment's stacks over runners: one job per stack."""

    #: Jobs of one matrix (one dependency level) that run at once: ``strategy.max-parallel``.
    max_parallel: int = Field(ge=1, le=256)


class Environment(StrictModel):
    """One deployable environment (or, with ``ephemeral``, a template of them)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9]{0,9}$")
    project: str = Field(pattern=r"^[a-z][a-z0-9]{1,15}$")
    #: ``OWNER/REPO`` on GitHub: the ``Repository`` tag of every resource (data, not CI context).
    repository: RepositoryName
    #: The branch this environment deploys from; ephemeral templates have none
    #: (a pull request into any environment branch gets one).
    branch: BranchName | None = None
    #: Branches whose pull requests may merge into ``branch`` (promotion path).
    promote_from: list[BranchName] = Field(default_factory=list)
    region: Region
    account_id: AccountId
    ci_roles: CiRoles
    state: StateBackend
    stacks: list[str] = Field(min_length=1)
    settings: dict[str, StackSettings] = Field(default_factory=dict)
    protection: Protection
    fan_out: FanOut
    tags: dict[str, str] = Field(default_factory=dict)
    ephemeral: Ephemeral | None = None

    @field_validator("stacks")
    @classmethod
    def _known_stacks(cls, value: list[str]) -> list[str]:
        known = stack_registry()
        unknown = [s for s in value if s not in known]
        if unknown:
            raise ValueError(f"unknown stack(s) {', '.join(unknown)}; known stacks: {', '.join(known)}")
        if len(set(value)) != len(value):
            raise ValueError("a stack is listed twice")
        return value

    @field_validator("settings", mode="before")
    @classmethod
    def _typed_settings(cls, value: Any, info: ValidationInfo) -> Any:
        """The one place stack settings are validated: ``settings.<stack>`` against the model
        the registry names for ``<stack>``; a listed stack without settings gets the defaults."""
        known = stack_registry()
        if value is None:
            value = {}
        if not isinstance(value, dict):
            return value  # not a mapping: the field's own type check reports it
        for stack in value:
            if stack not in known:
                raise ValueError(f"settings for unknown stack {stack!r}; known stacks: {', '.join(known)}")
        raw = {stack: {} if given is None else given for stack, given in value.items()}
        for stack in info.data.get("stacks", ()):
            raw.setdefault(stack, {})
        adapter = _settings_adapter(tuple((name, entry.settings) for name, entry in known.items()))
        typed = adapter.validate_python(raw)
        return {stack: typed[stack] for stack in raw}

    @model_validator(mode="after")
    def _branch_or_template(self) -> Environment:
        if self.branch is None and self.ephemeral is None:
            raise ValueError("branch: required key is missing (only ephemeral templates omit it)")
        return self

    @field_validator("tags")
    @classmethod
    def _tag_rules(cls, value: dict[str, str]) -> dict[str, str]:
        for key, tag in value.items():
            if not 1 <= len(key) <= 128 or len(tag) > 256 or key.lower().startswith("aws:"):
                raise ValueError(f"tag {key!r} breaks AWS tag rules (key 1-128, value <=256, no 'aws:')")
        return value

    # -- helpers -------------------------------------------------------------
    def settings_for(self, stack: str) -> StackSettings:
        return self.settings[stack]

    def region_for(self, stack: str) -> str:
        return self.settings_for(stack).region or self.region

    @property
    def is_ephemeral(self) -> bool:
        return self.ephemeral is not None

    def canonical_suffix(self) -> str | None:
        """Long-lived environments deploy under their own name."""
        return None if self.is_ephemeral else self.name
