"""Settings of the transaction_pipeline stack (seed 002)."""

from __future__ import annotations

from pydantic import Field, model_validator

from lib.config.settings.base import StackSettings, StrictModel, check_burst_covers_rate
from lib.config.types import BurstLimit, FunctionMemoryMb, LogRetentionDays, RateLimit


class ApiLimits(StrictModel):
    """Usage plan of the upload API: steady rate, burst and a daily quota per API key."""

    rate_limit: RateLimit = 10.0
    burst_limit: BurstLimit = 20
    daily_quota: int = Field(default=1000, ge=1, le=10_000_000)

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> ApiLimits:
        check_burst_covers_rate(self, burst="burst_limit", rate="rate_limit")
        return self


class WorkflowRetry(StrictModel):
    """Retry of each workflow task on Lambda errors: interval, attempts, exponential backoff."""

    interval_seconds: int = Field(default=2, ge=1, le=300)
    max_attempts: int = Field(default=3, ge=0, le=10)
    backoff_rate: float = Field(default=2.0, ge=1.0, le=10.0)


class TransactionPipelineSettings(StackSettings):
    #: Reserved concurrency of each of the three functions.
    reserved_concurrency: int = Field(default=5, ge=1, le=900)
    memory_mb: FunctionMemoryMb = 512
    timeout_seconds: int = Field(default=60, ge=3, le=900)
    log_retention_days: LogRetentionDays = 14
    #: Largest CSV accepted (the API's 10 MB payload limit and Lambda's 6 MB bound it).
    max_file_bytes: int = Field(default=1_048_576, ge=1024, le=5_000_000)
    max_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    api: ApiLimits = Field(default_factory=ApiLimits)
    retry: WorkflowRetry = Field(default_factory=WorkflowRetry)
    #: The dead-letter-queue alarm fires at this many visible messages.
    dlq_alarm_threshold: int = Field(default=1, ge=1, le=100_000)
