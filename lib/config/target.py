"""The one place that says which environment instance a command acts on.

A :class:`Target` is an environment file resolved with the suffix it deploys under.
Every entry point resolves it here and nowhere else: the CLI (``-e``/``-s``, default
``$ENVIRONMENT``/``$ENVIRONMENT_SUFFIX``), the workflows (through ``scripts/tap
resolve``) and the CDKTF app (``tap.py`` reads the same two variables, with the same
defaults). The default environment, the placeholder suffix of the ephemeral template
and the layout of the state bucket (state keys, fingerprint records) are written here once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lib.config.loader import ENVIRONMENTS_DIR, load_environment
from lib.config.model import Environment
from lib.naming import SuffixError, validate_suffix

#: The environment a command acts on when neither ``-e`` nor ``$ENVIRONMENT`` names one:
#: the ephemeral template, so a local run can never touch a long-lived environment by default.
DEFAULT_ENVIRONMENT = "pr"
#: The suffix of the ephemeral template when none is given: a local stand-in for ``pr<N>``.
PLACEHOLDER_SUFFIX = "pr0"
#: The variables the app and the CLI read (the workflows export them).
ENVIRONMENT_VAR = "ENVIRONMENT"
SUFFIX_VAR = "ENVIRONMENT_SUFFIX"

_STATE_KEY = re.compile(r"^(?P<suffix>[a-z][a-z0-9]*)/(?P<stack>[A-Za-z0-9_-]+)\.tfstate$")


def state_key(suffix: str, stack: str) -> str:
    """Where a stack's state lives in its environment's state bucket."""
    return f"{suffix}/{stack}.tfstate"


def fingerprint_key(suffix: str, stack: str) -> str:
    """Where the fingerprint of a stack's last apply is recorded, next to its state."""
    return f"{suffix}/{stack}.fingerprint.json"


def parse_state_key(key: str) -> tuple[str, str] | None:
    """``(suffix, stack)`` of a state key, or None for any other object of the bucket."""
    match = _STATE_KEY.match(key)
    return (match["suffix"], match["stack"]) if match else None


@dataclass(frozen=True)
class Target:
    """An environment resolved with the suffix it deploys under."""

    env: Environment
    suffix: str

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def account_id(self) -> str:
        return self.env.account_id

    def region_for(self, stack: str) -> str:
        return self.env.region_for(stack)

    def state_key(self, stack: str) -> str:
        return state_key(self.suffix, stack)


def resolve_target(
    name: str | None = None, suffix: str | None = None, directory: Path = ENVIRONMENTS_DIR
) -> Target:
    """The environment ``name`` (default :data:`DEFAULT_ENVIRONMENT`) under ``suffix``.

    Without a suffix a long-lived environment deploys under its own name and the
    ephemeral template under :data:`PLACEHOLDER_SUFFIX`. A given suffix must follow the
    naming rule and the environment's own policy."""
    env = load_environment(name or DEFAULT_ENVIRONMENT, directory)
    if suffix is None:
        suffix = env.canonical_suffix() or PLACEHOLDER_SUFFIX
    validate_suffix(suffix)
    if env.ephemeral is not None and not re.fullmatch(env.ephemeral.suffix_pattern, suffix):
        raise SuffixError(
            f"invalid environment suffix {suffix!r} for {env.name!r}: ephemeral suffixes must match "
            f"{env.ephemeral.suffix_pattern} (e.g. pr42)"
        )
    if env.ephemeral is None and suffix != env.name:
        raise SuffixError(
            f"invalid environment suffix {suffix!r} for {env.name!r}: a long-lived environment "
            f"deploys under its own name ({env.name!r})"
        )
    return Target(env=env, suffix=suffix)


def parse_target_outdir(spec: str, directory: Path = ENVIRONMENTS_DIR) -> tuple[Target, Path]:
    """``ENV[/SUFFIX]=DIR`` (``scripts/tap synth --also``, ``tap.py --also``): a target, resolved
    as :func:`resolve_target` does, and the directory it is synthesized into."""
    name, sep, outdir = spec.partition("=")
    env, _, suffix = name.partition("/")
    if not sep or not env or not outdir.strip():
        raise ValueError(f"{spec!r} is not ENV[/SUFFIX]=DIR (e.g. pr/pr7=build/pr/cdktf.out)")
    return resolve_target(env, suffix or None, directory), Path(outdir)


def target_from_environ(environ: Mapping[str, str], directory: Path = ENVIRONMENTS_DIR) -> Target:
    """The target ``$ENVIRONMENT``/``$ENVIRONMENT_SUFFIX`` name (empty counts as unset)."""
    return resolve_target(environ.get(ENVIRONMENT_VAR) or None, environ.get(SUFFIX_VAR) or None, directory)
