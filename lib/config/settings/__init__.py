"""Per-stack settings models, keyed by the stack names used in environment files.

Each stack owns one module here holding a :class:`StackSettings` subclass; the
loader validates ``settings.<stack>`` of every environment file against it.
"""

from __future__ import annotations

from lib.config.settings.base import StackSettings, StrictModel
from lib.config.settings.platform import PlatformSettings
from lib.config.settings.smoke import SmokeSettings

SETTINGS_MODELS: dict[str, type[StackSettings]] = {
    "smoke": SmokeSettings,
    "platform": PlatformSettings,
}

__all__ = ["SETTINGS_MODELS", "StackSettings", "StrictModel"]
