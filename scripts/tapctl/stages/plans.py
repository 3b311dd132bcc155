"""Summaries of saved plans, read from ``terraform show -json``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from scripts.tapctl.core import ui


@dataclass
class ResourceChange:
    address: str
    action: str  # create | update | delete | replace


@dataclass
class PlanSummary:
    stack: str
    add: int = 0
    change: int = 0
    destroy: int = 0
    replace: int = 0
    changes: list[ResourceChange] = field(default_factory=list)
    output_changes: int = 0
    error: str | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.destroy or self.replace)

    @property
    def destructive(self) -> bool:
        return bool(self.destroy or self.replace)

    def counts(self) -> str:
        return f"+{self.add} ~{self.change} -{self.destroy} ±{self.replace}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanSummary:
        changes = [ResourceChange(**c) for c in data.get("changes", [])]
        return cls(**{**data, "changes": changes})


def action_of(actions: list[str]) -> str | None:
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    if actions == ["create"]:
        return "create"
    if actions == ["update"]:
        return "update"
    if actions == ["delete"]:
        return "delete"
    return None  # no-op, read


def summarize(stack: str, plan: dict[str, Any] | str) -> PlanSummary:
    data = json.loads(plan) if isinstance(plan, str) else plan
    summary = PlanSummary(stack=stack)
    for rc in data.get("resource_changes", []) or []:
        action = action_of(rc.get("change", {}).get("actions", []))
        if action is None:
            continue
        summary.changes.append(ResourceChange(rc.get("address", "?"), action))
        attr = {"create": "add", "update": "change", "delete": "destroy", "replace": "replace"}[action]
        setattr(summary, attr, getattr(summary, attr) + 1)
    for change in (data.get("output_changes") or {}).values():
        if action_of(change.get("actions", [])) is not None:
            summary.output_changes += 1
    order = {"delete": 0, "replace": 1, "update": 2, "create": 3}
    summary.changes.sort(key=lambda c: (order[c.action], c.address))
    return summary


def table(summaries: Mapping[str, PlanSummary]) -> str:
    """The per-stack table ``plan`` and ``pipeline`` print."""
    rows = [
        [
            s,
            str(p.add),
            str(p.change),
            str(p.destroy),
            str(p.replace),
            "DESTRUCTIVE" if p.destructive else ("changes" if p.has_changes else "no changes"),
        ]
        for s, p in summaries.items()
    ]
    return ui.table(["stack", "add", "change", "destroy", "replace", "status"], rows)
