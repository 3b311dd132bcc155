"""What a stack is given: its typed settings and the facts of where it deploys.

Light on purpose (no provider bindings): the CLI and tests can build a context
without paying for the ~12 s import of the AWS provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from lib.config import Environment, Target, state_key
from lib.config.settings import StackSettings
from lib.naming import Namer
from lib.stacks import STACKS

S = TypeVar("S", bound=StackSettings)


@dataclass(frozen=True)
class StackContext(Generic[S]):
    """What one stack is given, and all it is given: its own typed settings and the
    facts of where it deploys (never the whole environment). Built by :meth:`of`."""

    #: The stack's name in the environment files (its construct id and state key).
    stack: str
    #: The stack's settings, validated against its registered model when the environment loaded.
    settings: S
    suffix: str
    region: str
    account_id: str
    #: ``protection.destroy_allowed``: may the workflows destroy this environment?
    destroy_allowed: bool
    namer: Namer
    #: Default tags of every resource (see :meth:`of`).
    tags: Mapping[str, str]
    state_bucket: str
    state_region: str
    #: The region of each stack this one is applied after (``TapStack.depends_on``).
    dependency_regions: Mapping[str, str]

    @classmethod
    def of(
        cls, target: Target, stack: str, *, depends_on: tuple[str, ...] = ()
    ) -> StackContext[StackSettings]:
        """The context of ``stack`` in ``target``.

        Default tags are a pure function of the environment files and the target, so a
        plan made by CI, by drift or on a laptop never shows tag churn. Who or what ran
        the synth (author, commit, PR) goes into the synth metadata, not here."""
        env = target.env
        settings = env.settings_for(stack)
        model = STACKS[stack].settings
        if not isinstance(settings, model):
            raise TypeError(f"{stack} needs {model.__name__}, got {type(settings).__name__}")
        region = env.region_for(stack)
        tags = {
            "Project": env.project,
            "Environment": env.name,
            "EnvironmentSuffix": target.suffix,
            "Stack": stack,
            "Repository": env.repository,
        }
        return cls(
            stack=stack,
            settings=settings,
            suffix=target.suffix,
            region=region,
            account_id=env.account_id,
            destroy_allowed=env.protection.destroy_allowed,
            namer=Namer(env.project, env.name, target.suffix, region, env.account_id),
            tags={**tags, **env.tags},
            state_bucket=env.state.bucket,
            state_region=env.state.region,
            dependency_regions={dep: _region_of(env, dep) for dep in depends_on},
        )

    @property
    def state_key(self) -> str:
        return state_key(self.suffix, self.stack)


def _region_of(env: Environment, stack: str) -> str:
    """Where ``stack`` deploys in ``env``, whether or not ``env`` lists it."""
    return env.region_for(stack) if stack in env.settings else env.region
