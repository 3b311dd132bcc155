"""Shared base for per-stack settings models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lib.config.types import Region


class StrictModel(BaseModel):
    """Unknown keys are errors; values are not coerced across types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class StackSettings(StrictModel):
    """Settings every stack accepts. A stack's own model subclasses this."""

    #: Deploy this stack to another region than the environment's.
    region: Region | None = None
    #: Free-form feature flags a stack may read (``flags.<name>: true``).
    flags: dict[str, bool] = Field(default_factory=dict)
