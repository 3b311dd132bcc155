"""Least-privilege IAM from explicit grants.

A :class:`Grant` is one policy statement: named actions (never a wildcard) on
named resources. ``"*"`` as a *resource* is accepted only with a written
``reason`` (for the few APIs AWS offers no resource-level permission for,
e.g. ``xray:PutTraceSegments``). :class:`ServiceRole` is a role a service
assumes, whose one inline policy is built from grants.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from lib.constructs.forwarded import Forwarded

#: ``service:Action`` with no wildcard anywhere.
ACTION_PATTERN = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")


class GrantError(ValueError):
    """A grant would give more than it names."""


@dataclass(frozen=True)
class Grant:
    """One ``Allow`` statement: explicit actions on explicit resources."""

    actions: Sequence[str]
    resources: Sequence[str]
    #: Required when ``resources`` contains ``"*"``: why AWS needs it.
    reason: str = ""
    #: Optional IAM condition block (``{"StringEquals": {...}}``).
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", tuple(self.actions))
        object.__setattr__(self, "resources", tuple(self.resources))
        if isinstance(self.actions, str) or not self.actions:
            raise GrantError("a grant needs at least one action")
        for action in self.actions:
            if "*" in action:
                raise GrantError(f"wildcard action {action!r} is not allowed: name each action")
            if not ACTION_PATTERN.match(action):
                raise GrantError(f"action {action!r} is not of the form 'service:Action'")
        if not self.resources:
            raise GrantError(f"grant of {', '.join(self.actions)} names no resource")
        if "*" in self.resources and not self.reason.strip():
            raise GrantError(
                f"grant of {', '.join(self.actions)} on resource '*' needs a reason "
                "(only for APIs without resource-level permissions)"
            )

    def statement(self) -> dict[str, Any]:
        stmt: dict[str, Any] = {
            "Effect": "Allow",
            "Action": sorted(set(self.actions)),
            "Resource": list(dict.fromkeys(self.resources)),
        }
        if self.conditions:
            stmt["Condition"] = {k: dict(v) for k, v in self.conditions.items()}
        return stmt


def policy_document(grants: Sequence[Grant]) -> str:
    """A compact IAM policy JSON of ``grants`` (Terraform tokens stay inside strings)."""
    if not grants:
        raise GrantError("a policy needs at least one grant")
    doc = {"Version": "2012-10-17", "Statement": [g.statement() for g in grants]}
    return json.dumps(doc, separators=(",", ":"))


def assume_role_policy(service: str, *, source_account: str | None = None) -> str:
    """Trust policy letting ``service`` (e.g. ``lambda.amazonaws.com``) assume a role."""
    stmt: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        stmt["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]}, separators=(",", ":"))


class ServiceRole(Construct):
    """An IAM role for one AWS service, with one inline policy built from grants."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        service: str,
        grants: Sequence[Grant],
        source_account: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.grants: tuple[Grant, ...] = tuple(grants)
        self.role = IamRole(
            self,
            "role",
            name=name,
            assume_role_policy=assume_role_policy(service, source_account=source_account),
            description=description,
        )
        self.policy = IamRolePolicy(
            self,
            "policy",
            name="grants",
            role=self.role.id,
            policy=policy_document(self.grants),
        )

    arn = Forwarded("role", "arn")
    name = Forwarded("role", "name")
