"""``scripts/tap changed``: which stacks a change touches, by what they *are*.

Each synthesized stack's fingerprint (:mod:`scripts.tapctl.stages.fingerprint`) is
compared with the one recorded by the environment's last apply. A stack is *changed*
when they differ or there is no readable record; every stack that depends on a
changed stack (transitively) is changed too, since it may read what moved. Unlike
file globs this sees a shared construct's edit in every stack that uses it, and
ignores files that change no stack (docs, tests, workflows).

``--scope`` (the stacks a pull request changes in its base environment) limits the
answer to those stacks, their dependents and what they need: for an ephemeral
environment, a stack's dependencies are deployed with it when their own record is
missing or differs. ``--all`` marks every stack changed.

The answer is JSON fit for a job matrix (each stack with its dependency level: all of
level 0 before any of level 1; ``level_<n>`` lists level ``n`` alone, for a workflow's
job per level), is appended to ``$GITHUB_OUTPUT``, and is saved as
``<cdktf.out>/tap-changes.json`` for the PR comment (which lists the unchanged stacks
with the commit that applied them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import github
from scripts.tapctl.stages import fingerprint
from scripts.tapctl.stages.session import Session

CHANGES_FILE = "tap-changes.json"


@dataclass(frozen=True)
class Changed:
    stack: str
    level: int
    reason: str


@dataclass
class Changes:
    environment: str
    suffix: str
    changed: list[Changed] = field(default_factory=list)
    #: stack -> the record of the apply it is unchanged since
    unchanged: dict[str, fingerprint.Record] = field(default_factory=dict)

    @property
    def stacks(self) -> list[str]:
        return [c.stack for c in self.changed]

    @property
    def levels(self) -> list[list[str]]:
        depth = max((c.level for c in self.changed), default=-1)
        return [[c.stack for c in self.changed if c.level == n] for n in range(depth + 1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "suffix": self.suffix,
            "any": bool(self.changed),
            "stacks": self.stacks,
            "levels": self.levels,
            "matrix": {"include": [asdict(c) for c in self.changed]},
            "unchanged": {s: asdict(r) for s, r in sorted(self.unchanged.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Changes:
        return cls(
            environment=data["environment"],
            suffix=data["suffix"],
            changed=[Changed(**c) for c in data["matrix"]["include"]],
            unchanged={s: fingerprint.Record(**r) for s, r in data.get("unchanged", {}).items()},
        )


def dependents_closure(stacks: Iterable[str], deps: Mapping[str, list[str]]) -> set[str]:
    """``stacks`` and every stack that depends on one of them, transitively."""
    dependents: dict[str, list[str]] = {}
    for stack, needs in deps.items():
        for need in needs:
            dependents.setdefault(need, []).append(stack)
    return _reachable(stacks, dependents)


def dependencies_closure(stacks: Iterable[str], deps: Mapping[str, list[str]]) -> set[str]:
    """``stacks`` and every stack they depend on, transitively."""
    return _reachable(stacks, deps)


def _reachable(start: Iterable[str], edges: Mapping[str, list[str]]) -> set[str]:
    found: set[str] = set()
    todo = list(start)
    while todo:
        stack = todo.pop()
        if stack not in found:
            found.add(stack)
            todo.extend(edges.get(stack, []))
    return found


def levels_of(stacks: Iterable[str], deps: Mapping[str, list[str]]) -> dict[str, int]:
    """Dependency level of each stack within ``stacks``: 0 needs none of the others."""
    chosen = set(stacks)
    level: dict[str, int] = {}

    def of(stack: str, path: tuple[str, ...]) -> int:
        if stack in path:
            raise TapError(f"dependency cycle among stacks: {' -> '.join((*path, stack))}")
        if stack not in level:
            inside = [d for d in deps.get(stack, []) if d in chosen]
            level[stack] = 1 + max((of(d, (*path, stack)) for d in inside), default=-1)
        return level[stack]

    for stack in chosen:
        of(stack, ())
    return level


def decide(
    current: Mapping[str, str],
    records: Mapping[str, fingerprint.Record | None],
    deps: Mapping[str, list[str]],
    order: list[str],
    *,
    scope: list[str] | None = None,
    force_all: bool = False,
) -> tuple[list[Changed], dict[str, fingerprint.Record]]:
    """The changed stacks (in ``order`` within each level) and the unchanged ones' records."""
    candidates = set(order)
    if scope is not None:
        candidates = dependencies_closure(dependents_closure(scope, deps), deps) & set(order)
    reasons: dict[str, str] = {}
    for stack in order:
        if stack not in candidates:
            continue
        record = records.get(stack)
        if force_all:
            reasons[stack] = "--all"
        elif record is None:
            reasons[stack] = "no record of an apply"
        elif record.fingerprint != current[stack]:
            reasons[stack] = f"differs from the apply of {record.commit[:12]}"
    for stack in sorted(dependents_closure(reasons, deps) & candidates - set(reasons), key=order.index):
        needs = sorted(set(deps.get(stack, [])) & set(reasons))
        reasons[stack] = f"depends on {', '.join(needs) or 'a changed stack'}"
    level = levels_of(reasons, deps)
    changed = sorted(
        (Changed(s, level[s], reasons[s]) for s in reasons), key=lambda c: (c.level, order.index(c.stack))
    )
    unchanged = {s: r for s, r in records.items() if s not in reasons and r is not None}
    return changed, unchanged


def detect(session: Session, *, scope: list[str] | None = None, force_all: bool = False) -> Changes:
    order = session.stacks
    if scope is not None:
        unknown = sorted(set(scope) - set(order))
        if unknown:
            raise TapError(
                f"--scope: {', '.join(unknown)} not synthesized for {session.target.name}/"
                f"{session.target.suffix} (synthesized: {', '.join(order)})"
            )
    current = fingerprint.of_session(session)
    records = {} if force_all else {s: fingerprint.read(session, s) for s in order}
    changed, unchanged = decide(current, records, session.deps, order, scope=scope, force_all=force_all)
    return Changes(session.target.name, session.target.suffix, changed, unchanged)


def save(changes: Changes, outdir: Path) -> Path:
    path = outdir / CHANGES_FILE
    path.write_text(json.dumps(changes.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def load(outdir: Path) -> Changes | None:
    """The saved answer of ``changed`` for this synth output, if it was asked."""
    path = outdir / CHANGES_FILE
    if not path.exists():
        return None
    return Changes.from_dict(json.loads(path.read_text(encoding="utf-8")))


def parse_scope(text: str | None) -> list[str] | None:
    """``--scope``: comma-separated stack names; an empty string is the empty scope."""
    if text is None:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


def level_outputs(changes: Changes, possible: int) -> dict[str, str]:
    """``level_<n>``: the JSON list of level ``n``'s stacks, for every level ``possible``
    stacks could form (``[]`` when empty). A workflow's job per level tests its own
    output against ``'[]'``: a missing output would read as ``''``, not as empty."""
    levels = changes.levels
    if len(levels) > possible:
        raise TapError(
            f"{len(levels)} dependency levels among at most {possible} stacks: a dependency cycle?"
        )
    return {f"level_{n}": json.dumps(levels[n] if n < len(levels) else []) for n in range(possible)}


def command(session: Session, *, scope: str | None, force_all: bool) -> int:
    changes = detect(session, scope=parse_scope(scope), force_all=force_all)
    save(changes, session.outdir)
    data = changes.to_dict()
    github.write_outputs(
        {
            "any": "true" if changes.changed else "false",
            "stacks": ",".join(changes.stacks),
            "matrix": json.dumps(data["matrix"]),
            "levels": json.dumps(data["levels"]),
            **level_outputs(changes, len(session.target.env.stacks)),
        }
    )
    print(json.dumps(data, indent=2))
    return 0
