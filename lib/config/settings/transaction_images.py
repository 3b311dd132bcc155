"""Settings of the transaction_images stack (the ECR repositories of the pipeline's functions)."""

from __future__ import annotations

from pydantic import Field

from lib.config.settings.base import StackSettings


class TransactionImagesSettings(StackSettings):
    #: The lifecycle policy keeps this many images per repository (the newest).
    image_retention_count: int = Field(default=10, ge=1, le=1000)
