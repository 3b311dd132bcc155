"""Settings of the IoT pipeline stack (API -> ingest -> SQS -> processor -> DynamoDB).

Defaults suit an ephemeral environment; ``environments/<env>.yaml`` raises
what production needs (reserved concurrency above all: reserving 100 per
function in every pull-request environment would starve the account's
unreserved pool). See docs/stacks/iot_pipeline.md.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from lib.config.settings.base import StackSettings, check_burst_covers_rate
from lib.config.types import (
    BurstLimit,
    FunctionMemoryMb,
    FunctionTimeoutSeconds,
    LogRetentionDays,
    RateLimit,
    ReservedConcurrency,
)


class IotPipelineSettings(StackSettings):
    # -- functions -----------------------------------------------------------
    #: Reserved concurrency of each function (0 would disable it).
    reserved_concurrency: ReservedConcurrency = 5
    memory_mb: FunctionMemoryMb = 256
    ingest_timeout_seconds: int = Field(default=10, ge=1, le=29)
    processor_timeout_seconds: FunctionTimeoutSeconds = 60
    query_timeout_seconds: int = Field(default=10, ge=1, le=29)
    log_retention_days: LogRetentionDays = 30

    # -- queue ---------------------------------------------------------------
    #: Records per processor invocation.
    processor_batch_size: int = Field(default=10, ge=1, le=10)
    #: Receives before a message moves to the dead-letter queue.
    max_receive_count: int = Field(default=3, ge=1, le=1000)
    queue_visibility_timeout_seconds: int = Field(default=360, ge=0, le=43200)
    dlq_retention_days: int = Field(default=14, ge=1, le=14)

    # -- API -----------------------------------------------------------------
    stage_name: str = Field(default="v1", pattern=r"^[A-Za-z0-9_]{1,64}$")
    #: Steady-state requests per second across the stage.
    throttle_rate_limit: RateLimit = 1000
    throttle_burst_limit: BurstLimit = 2000
    #: Readings a device may send in one request (exported in the config parameter).
    max_metrics_per_reading: int = Field(default=20, ge=1, le=100)

    @model_validator(mode="after")
    def _consistent(self) -> IotPipelineSettings:
        # AWS refuses an SQS event source whose queue's visibility timeout is
        # shorter than the function's timeout; 6x is AWS's recommendation.
        if self.queue_visibility_timeout_seconds < self.processor_timeout_seconds:
            raise ValueError(
                f"queue_visibility_timeout_seconds ({self.queue_visibility_timeout_seconds}) must be at "
                f"least processor_timeout_seconds ({self.processor_timeout_seconds}); AWS recommends 6x"
            )
        check_burst_covers_rate(self, burst="throttle_burst_limit", rate="throttle_rate_limit")
        return self
