"""Settings of the data pipeline stack (S3 -> ingest/validate/transform/load -> DynamoDB).

The stack deploys to ``us-east-2`` (``region`` in ``environments/defaults.yaml``),
as the seed does. ``vpc_cidr`` ends in ``cidr``, so the environment loader
checks it for overlap with every other block. See docs/stacks/data_pipeline.md.
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from lib.config.settings.base import StackSettings
from lib.config.types import FunctionMemoryMb, FunctionTimeoutSeconds, LogRetentionDays, ReservedConcurrency


class DataPipelineSettings(StackSettings):
    #: The VPC's block; a /16 to /20 (each of the three private subnets gets 1/16 of it).
    vpc_cidr: str = "10.110.0.0/16"

    # -- functions -----------------------------------------------------------
    #: Reserved concurrency of each function (kept small where environments are many).
    reserved_concurrency: ReservedConcurrency = 5
    memory_mb: FunctionMemoryMb = 256
    timeout_seconds: FunctionTimeoutSeconds = 60
    log_retention_days: LogRetentionDays = 7

    # -- storage -------------------------------------------------------------
    #: Raw objects move to S3 Glacier after this many days.
    glacier_transition_days: int = Field(default=90, ge=1, le=3650)
    noncurrent_expiration_days: int = Field(default=30, ge=1, le=3650)

    # -- workflow ------------------------------------------------------------
    #: Attempts after the first failure of each task (exponential backoff).
    retry_max_attempts: int = Field(default=3, ge=0, le=10)
    retry_interval_seconds: int = Field(default=2, ge=1, le=300)
    retry_backoff_rate: float = Field(default=2.0, ge=1.0, le=10.0)

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value)
        except ValueError as exc:
            raise ValueError(f"vpc_cidr {value!r} is not an IPv4 network: {exc}") from exc
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(f"vpc_cidr {value} must be a /16 to /20 (three private subnets of 1/16 each)")
        return value
