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


def check_burst_covers_rate(model: BaseModel, *, burst: str, rate: str) -> None:
    """A throttle's burst (field ``burst`` of ``model``) must allow at least one second of
    its steady rate (field ``rate``)."""
    burst_limit, rate_limit = getattr(model, burst), getattr(model, rate)
    if burst_limit < rate_limit:
        raise ValueError(
            f"{burst} {burst_limit} is below {rate} {rate_limit}: "
            "a burst must allow at least one second of the steady rate"
        )
