"""Per-stack settings models, keyed by the stack names used in environment files.

Each stack owns one module here holding a :class:`StackSettings` subclass; the
loader validates ``settings.<stack>`` of every environment file against it.
"""

from __future__ import annotations

from lib.config.settings.base import StackSettings, StrictModel
from lib.config.settings.data_pipeline import DataPipelineSettings
from lib.config.settings.file_processing import FileProcessingSettings
from lib.config.settings.iot_pipeline import IotPipelineSettings
from lib.config.settings.platform import PlatformSettings
from lib.config.settings.transaction_images import TransactionImagesSettings
from lib.config.settings.transaction_pipeline import TransactionPipelineSettings

SETTINGS_MODELS: dict[str, type[StackSettings]] = {
    "platform": PlatformSettings,
    "transaction_images": TransactionImagesSettings,
    "transaction_pipeline": TransactionPipelineSettings,
    "file_processing": FileProcessingSettings,
    "iot_pipeline": IotPipelineSettings,
    "data_pipeline": DataPipelineSettings,
}

__all__ = ["SETTINGS_MODELS", "StackSettings", "StrictModel"]
