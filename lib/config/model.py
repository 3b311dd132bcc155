"""The typed environment model loaded from ``environments/*.yaml``."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from lib.config.settings import SETTINGS_MODELS, StackSettings, StrictModel
from lib.config.types import AccountId, BranchName, BucketName, IamRoleArn, Region, RepositoryName


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
    tags: dict[str, str] = Field(default_factory=dict)
    ephemeral: Ephemeral | None = None

    @field_validator("stacks")
    @classmethod
    def _known_stacks(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in SETTINGS_MODELS]
        if unknown:
            raise ValueError(
                f"unknown stack(s) {', '.join(unknown)}; known stacks: {', '.join(SETTINGS_MODELS)}"
            )
        if len(set(value)) != len(value):
            raise ValueError("a stack is listed twice")
        return value

    @field_validator("settings", mode="before")
    @classmethod
    def _typed_settings(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            return value
        typed: dict[str, Any] = {}
        for stack, raw in value.items():
            model = SETTINGS_MODELS.get(stack)
            if model is None:
                raise ValueError(
                    f"settings for unknown stack {stack!r}; known stacks: {', '.join(SETTINGS_MODELS)}"
                )
            typed[stack] = model.model_validate(raw if raw is not None else {})
        return typed

    @model_validator(mode="after")
    def _fill_settings(self) -> Environment:
        if self.branch is None and self.ephemeral is None:
            raise ValueError("branch: required key is missing (only ephemeral templates omit it)")
        for stack in self.stacks:
            if stack not in self.settings:
                self.settings[stack] = SETTINGS_MODELS[stack]()
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
