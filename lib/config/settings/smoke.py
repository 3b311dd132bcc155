"""Settings of the smoke stack (a bucket and a table that prove the path)."""

from __future__ import annotations

from pydantic import Field

from lib.config.settings.base import StackSettings


class SmokeSettings(StackSettings):
    #: Keep this many days of noncurrent object versions.
    noncurrent_days: int = Field(default=7, ge=1, le=365)
