"""Settings of the file_processing stack (seed 004)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from lib.config.settings.base import StackSettings, StrictModel, check_burst_covers_rate
from lib.config.types import BurstLimit, LogRetentionDays, RateLimit

#: Model families the document processor knows how to call (its request body differs per family).
BEDROCK_MODEL_PATTERN = re.compile(r"^(anthropic\.claude|amazon\.titan-text)[A-Za-z0-9.:-]*$")
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")


class ReservedConcurrency(StrictModel):
    processors: int = Field(default=5, ge=1, le=900)
    api: int = Field(default=5, ge=1, le=900)


class Bedrock(StrictModel):
    """Document summaries with one Bedrock model; the role may invoke only that model."""

    enabled: bool = False
    model_id: str = "anthropic.claude-3-haiku-20240307-v1:0"

    @field_validator("model_id")
    @classmethod
    def _known_family(cls, value: str) -> str:
        if not BEDROCK_MODEL_PATTERN.match(value):
            raise ValueError(
                f"model_id {value!r} is not an Anthropic Claude or Amazon Titan Text model id "
                "(e.g. anthropic.claude-3-haiku-20240307-v1:0)"
            )
        return value


class FileProcessingSettings(StackSettings):
    reserved_concurrency: ReservedConcurrency = Field(default_factory=ReservedConcurrency)
    log_retention_days: LogRetentionDays = 7
    noncurrent_version_expiration_days: int = Field(default=30, ge=1, le=3650)
    #: Larger objects are recorded as REJECTED without being read.
    max_file_bytes: int = Field(default=10_485_760, ge=1024, le=104_857_600)
    #: Lifetime of presigned URLs (the function's role credentials bound it too).
    url_expiry_seconds: int = Field(default=900, ge=60, le=3600)
    #: the seed's "100 req/min, 200 burst": API Gateway's rate is per second
    api_rate_limit: RateLimit = round(100 / 60, 2)
    api_burst_limit: BurstLimit = 200
    #: Browser origins allowed to upload to the bucket and call the API ("*" for any).
    cors_allowed_origins: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    bedrock: Bedrock = Field(default_factory=Bedrock)

    @field_validator("cors_allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(f"CORS origin {origin!r} must be '*' or scheme://host[:port] without a path")
        if "*" in value and len(value) > 1:
            raise ValueError("CORS origin '*' already allows every origin; list no others with it")
        return value

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> FileProcessingSettings:
        check_burst_covers_rate(self, burst="api_burst_limit", rate="api_rate_limit")
        return self
