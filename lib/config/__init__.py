"""Environment model: typed, validated settings loaded from ``environments/``."""

from lib.config.loader import (
    EnvironmentConfigError,
    Target,
    UnknownEnvironmentError,
    known_environments,
    load_all,
    load_environment,
    resolve_target,
)
from lib.config.model import Environment

__all__ = [
    "Environment",
    "EnvironmentConfigError",
    "Target",
    "UnknownEnvironmentError",
    "known_environments",
    "load_all",
    "load_environment",
    "resolve_target",
]
