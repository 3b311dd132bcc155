"""Settings of the transaction_pipeline stack (seed 002)."""

from __future__ import annotations

from pydantic import Field, model_validator

from lib.config.settings.base import StackSettings, StrictModel
from lib.config.types import LogRetentionDays


class ApiLimits(StrictModel):
    """Usage plan of the upload API: steady rate, burst and a daily quota per API key."""

    rate_limit: float = Field(default=10.0, gt=0, le=10000)
    burst_limit: int = Field(default=20, ge=1, le=5000)
    daily_quota: int = Field(default=1000, ge=1, le=10_000_000)

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> ApiLimits:
        if self.burst_limit < self.rate_limit:
            raise ValueError(
                f"burst_limit {self.burst_limit} is below rate_limit {self.rate_limit}: "
                "a burst must allow at least one second of the steady rate"
            )
        return self


class WorkflowRetry(StrictModel):
    """Retry of each workflow task on Lambda errors: interval, attempts, exponential backoff."""

    interval_seconds: int = Field(default=2, ge=1, le=300)
    max_attempts: int = Field(default=3, ge=0, le=10)
    backoff_rate: float = Field(default=2.0, ge=1.0, le=10.0)


class TransactionPipelineSettings(StackSettings):
    #: Reserved concurrency of each of the three functions.
    reserved_concurrency: int = Field(default=5, ge=1, le=900)
    memory_mb: int = Field(default=512, ge=128, le=10240)
    timeout_seconds: int = Field(default=60, ge=3, le=900)
    log_retention_days: LogRetentionDays = 14
    #: Largest CSV accepted (the API's 10 MB payload limit and Lambda's 6 MB bound it).
    max_file_bytes: int = Field(default=1_048_576, ge=1024, le=5_000_000)
    max_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    api: ApiLimits = Field(default_factory=ApiLimits)
    retry: WorkflowRetry = Field(default_factory=WorkflowRetry)
    #: The dead-letter-queue alarm fires at this many visible messages.
    dlq_alarm_threshold: int = Field(default=1, ge=1, le=100_000)
