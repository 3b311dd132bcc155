"""Summaries of saved plans, read from ``terraform show -json``.

The JSON plan format (``format_version`` 1.x; Terraform 1.11 writes ``1.2``) reports,
per resource instance, ``change.actions`` -- ``["create"]``, ``["update"]``,
``["delete"]``, ``["delete", "create"]`` (replace, destroy first), ``["create",
"delete"]`` (replace, create before destroy), ``["create", "forget"]`` (replace, the
old object only forgotten), ``["read"]`` (a data source read during apply),
``["no-op"]`` and ``["forget"]`` (a ``removed`` block with ``destroy = false``: gone
from the state, the real object kept) -- plus ``change.importing`` (an ``import``
block; any action), ``previous_address`` (a ``moved`` block; any action),
``action_reason`` and ``deposed``. Root ``output_changes`` are listed too: a plan
that only changes outputs still changes the state. A new major format version is
refused (Terraform's own rule for consumers), in one line naming the stack.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from scripts.tapctl.core import ui
from scripts.tapctl.core.errors import TapError

#: The major version of ``terraform show -json``'s format this module reads.
FORMAT_MAJOR = 1

#: ``action_reason`` as a few words for the comment.
REASONS = {
    "replace_because_tainted": "tainted",
    "replace_because_cannot_update": "cannot be updated in place",
    "replace_by_request": "replacement requested (-replace)",
    "replace_by_triggers": "replace_triggered_by",
    "delete_because_no_resource_config": "no longer in the configuration",
    "delete_because_wrong_repetition": "count/for_each changed",
    "delete_because_count_index": "count index out of range",
    "delete_because_each_key": "for_each key removed",
    "delete_because_no_module": "its module was removed",
    "delete_because_no_move_target": "moved to an address not in the configuration",
    "read_because_config_unknown": "its configuration is known only after apply",
    "read_because_dependency_pending": "a dependency has changes pending",
    "read_because_check_nested": "nested in a check block",
}

#: Replace orders, from the two actions Terraform lists.
REPLACE_ORDERS = {
    ("delete", "create"): "destroy-before-create",
    ("create", "delete"): "create-before-destroy",
    ("create", "forget"): "create-then-forget",
}

#: The order resources are listed in: what destroys first, plain reads last.
ACTION_ORDER = {
    "delete": 0,
    "replace": 1,
    "other": 2,
    "forget": 3,
    "update": 4,
    "create": 5,
    "no-op": 6,
    "read": 7,
}


@dataclass
class ResourceChange:
    address: str
    action: str  # create | update | delete | replace | read | forget | no-op | other
    #: replace only: destroy-before-create | create-before-destroy | create-then-forget
    order: str | None = None
    #: ``moved``: the address in the prior state
    previous_address: str | None = None
    #: ``import``: the resource is imported (any action, often no-op)
    importing: bool = False
    import_id: str | None = None
    #: Terraform's ``action_reason`` (see REASONS)
    reason: str | None = None
    #: a deposed object (left by a failed create-before-destroy) of ``address``
    deposed: str | None = None
    #: ``other`` only: the actions as Terraform listed them
    actions: list[str] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResourceChange:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class OutputChange:
    name: str
    action: str  # create | update | delete


@dataclass
class PlanSummary:
    stack: str
    add: int = 0
    change: int = 0
    destroy: int = 0
    replace: int = 0
    changes: list[ResourceChange] = field(default_factory=list)
    #: root outputs that change (a count: a drift check without the JSON sets it too)
    output_changes: int = 0
    error: str | None = None
    read: int = 0
    imports: int = 0
    moved: int = 0
    forget: int = 0
    #: actions this module does not know (a newer Terraform): treated as destructive
    other: int = 0
    outputs: list[OutputChange] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        """Anything to apply, as Terraform decides: outputs, imports, moves and forgets too."""
        return bool(
            self.add
            or self.change
            or self.destroy
            or self.replace
            or self.read
            or self.imports
            or self.moved
            or self.forget
            or self.other
            or self.output_changes
        )

    @property
    def destructive(self) -> bool:
        """A real object is destroyed (forget keeps it; an unknown action might not)."""
        return bool(self.destroy or self.replace or self.other)

    def extras(self) -> str:
        """The counts beyond add/change/destroy/replace, only those present."""
        parts = [
            ("read", self.read),
            ("import", self.imports),
            ("moved", self.moved),
            ("forget", self.forget),
            ("outputs", self.output_changes),
            ("unrecognized", self.other),
        ]
        return ", ".join(f"{name} {n}" for name, n in parts if n)

    def counts(self) -> str:
        base = f"+{self.add} ~{self.change} -{self.destroy} ±{self.replace}"
        extras = self.extras()
        return f"{base}, {extras}" if extras else base

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanSummary:
        """Read a saved summary; fields added later default, unknown ones are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["changes"] = [ResourceChange.from_dict(c) for c in data.get("changes") or []]
        values["outputs"] = [OutputChange(**o) for o in data.get("outputs") or []]
        return cls(**values)


def action_of(actions: list[str]) -> str | None:
    """One word for Terraform's action list; None for an unknown list."""
    match actions:
        case ["create"] | ["update"] | ["delete"] | ["read"] | ["forget"] | ["no-op"]:
            return actions[0]
        case [_, _] if tuple(actions) in REPLACE_ORDERS:
            return "replace"
        case _:
            return None


def check_format(stack: str, data: Mapping[str, Any]) -> None:
    """Refuse a plan JSON of a major format version other than 1, in one line.

    A plan without ``format_version`` (Terraform always writes it; hand-made input
    may not) is read as 1.x."""
    version = data.get("format_version")
    if version is None:
        return
    major = str(version).split(".", 1)[0]
    if not major.isdigit() or int(major) != FORMAT_MAJOR:
        raise TapError(
            f"{stack}: `terraform show -json` wrote plan format_version {version!r}; "
            f"tap reads format {FORMAT_MAJOR}.x only (Terraform >= 1.10): "
            "update scripts/tapctl/stages/plans.py for the new format"
        )


def summarize(stack: str, plan: dict[str, Any] | str) -> PlanSummary:
    data = json.loads(plan) if isinstance(plan, str) else plan
    if not isinstance(data, dict):
        raise TapError(f"{stack}: `terraform show -json` did not write a JSON object")
    check_format(stack, data)
    summary = PlanSummary(stack=stack)
    for rc in data.get("resource_changes") or []:
        change = _resource_change(rc)
        if change is not None:
            summary.changes.append(change)
            _count(summary, change)
    for name, oc in sorted((data.get("output_changes") or {}).items()):
        action = action_of((oc or {}).get("actions") or [])
        if action in ("create", "update", "delete"):
            summary.outputs.append(OutputChange(name, action))
        elif action == "replace":  # not reported for outputs today; an output changes either way
            summary.outputs.append(OutputChange(name, "update"))
    summary.output_changes = len(summary.outputs)
    summary.changes.sort(key=lambda c: (ACTION_ORDER[c.action], c.address, c.deposed or ""))
    return summary


def _resource_change(rc: Mapping[str, Any]) -> ResourceChange | None:
    """The change of one ``resource_changes`` entry; None when it changes nothing."""
    change = rc.get("change") or {}
    actions = list(change.get("actions") or [])
    importing = change.get("importing")
    previous = rc.get("previous_address")
    action = action_of(actions)
    if action is None:
        action = "other"
    elif action == "no-op" and importing is None and not previous:
        return None
    return ResourceChange(
        address=rc.get("address", "?"),
        action=action,
        order=REPLACE_ORDERS.get(tuple(actions)) if action == "replace" else None,
        previous_address=previous or None,
        importing=importing is not None,
        import_id=(importing.get("id") or None) if isinstance(importing, dict) else None,
        reason=rc.get("action_reason") or None,
        deposed=rc.get("deposed") or None,
        actions=actions if action == "other" else None,
    )


def _count(summary: PlanSummary, change: ResourceChange) -> None:
    if change.action == "replace" and change.order == "create-then-forget":
        summary.add += 1  # the new object; the old one is only forgotten
        summary.forget += 1
    elif change.action == "replace":
        summary.replace += 1
    else:
        attr = {
            "create": "add",
            "update": "change",
            "delete": "destroy",
            "read": "read",
            "forget": "forget",
            "other": "other",
        }.get(change.action)
        if attr:
            setattr(summary, attr, getattr(summary, attr) + 1)
    if change.importing:
        summary.imports += 1
    if change.previous_address:
        summary.moved += 1


def status(summary: PlanSummary) -> str:
    if summary.error:
        return "FAILED"
    if summary.destructive:
        return "DESTRUCTIVE"
    return "changes" if summary.has_changes else "no changes"


def table(summaries: Mapping[str, PlanSummary]) -> str:
    """The per-stack table ``plan`` and ``pipeline`` print."""
    rows = [
        [s, str(p.add), str(p.change), str(p.destroy), str(p.replace), p.extras(), status(p)]
        for s, p in summaries.items()
    ]
    return ui.table(["stack", "add", "change", "destroy", "replace", "also", "status"], rows)
