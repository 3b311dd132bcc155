"""Environment model: typed, validated settings loaded from ``environments/``, and the
target (environment + suffix) every command acts on."""

from lib.config.loader import (
    EnvironmentConfigError,
    UnknownEnvironmentError,
    known_environments,
    load_all,
    load_environment,
)
from lib.config.model import Environment
from lib.config.target import (
    DEFAULT_ENVIRONMENT,
    ENVIRONMENT_VAR,
    PLACEHOLDER_SUFFIX,
    SUFFIX_VAR,
    Target,
    fingerprint_key,
    parse_state_key,
    parse_target_outdir,
    resolve_target,
    state_key,
    target_from_environ,
)

__all__ = [
    "DEFAULT_ENVIRONMENT",
    "ENVIRONMENT_VAR",
    "PLACEHOLDER_SUFFIX",
    "SUFFIX_VAR",
    "Environment",
    "EnvironmentConfigError",
    "Target",
    "UnknownEnvironmentError",
    "fingerprint_key",
    "known_environments",
    "load_all",
    "load_environment",
    "parse_state_key",
    "parse_target_outdir",
    "resolve_target",
    "state_key",
    "target_from_environ",
]
