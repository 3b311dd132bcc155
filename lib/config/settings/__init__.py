"""Per-stack settings models.

Each stack owns one module here holding a :class:`StackSettings` subclass. Which
model belongs to which stack name is said once, in the stack registry
(:data:`lib.stacks.STACKS`); the environment model validates ``settings.<stack>``
of every environment file against it when the environment loads.
"""

from __future__ import annotations

from lib.config.settings.base import StackSettings, StrictModel

__all__ = ["StackSettings", "StrictModel"]
