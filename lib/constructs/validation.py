"""The validation Aspect: rules checked at synth time, failing synth clearly.

Each violation is an error annotation on the offending construct
(``Annotations.of(node).add_error``); cdktf refuses to synthesize a stack
with errors and prints the construct path with the message.

Rules:

* IAM policies (role/user/group inline policies, managed policies, inline
  policies of roles, policy documents) name every action: no ``*`` in any
  ``Action``, and no ``NotAction``.
* Every CloudWatch log group has a retention.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import jsii
from cdktf import Annotations, IAspect, Token
from constructs import IConstruct

POLICY_RESOURCE_TYPES = frozenset(
    {"aws_iam_role_policy", "aws_iam_policy", "aws_iam_user_policy", "aws_iam_group_policy"}
)


def _actions(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Action", [])
    return [value] if isinstance(value, str) else [a for a in value if isinstance(a, str)]


def policy_violations(policy: str) -> list[str]:
    """What is wrong with the policy JSON ``policy`` (empty if nothing is)."""
    try:
        doc = json.loads(policy)
    except (TypeError, ValueError):
        return []  # a token resolved at apply time: nothing to check here
    statements = doc.get("Statement", []) if isinstance(doc, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    problems = []
    for i, stmt in enumerate(s for s in statements if isinstance(s, dict)):
        if "NotAction" in stmt:
            problems.append(f"statement {i} uses NotAction; name the allowed actions instead")
        problems += [
            f"statement {i} has wildcard action {a!r}; name each action" for a in _actions(stmt) if "*" in a
        ]
    return problems


def _document_actions(node: Any) -> Iterable[str]:
    statements = node.statement_input or []
    if Token.is_unresolved(statements):
        return []
    found: list[str] = []
    for stmt in statements:
        get = stmt.get if isinstance(stmt, dict) else lambda key, s=stmt: getattr(s, key, None)
        found += list(get("actions") or [])
        if get("not_actions"):
            found.append("NotAction")
    return found


def _tf_type(node: IConstruct) -> str | None:
    return getattr(node, "terraform_resource_type", None)


def _check_policy(node: IConstruct) -> list[str]:
    kind = _tf_type(node)
    if kind in POLICY_RESOURCE_TYPES:
        return policy_violations(node.policy_input)  # type: ignore[attr-defined]
    if kind == "aws_iam_role":
        inline = node.inline_policy_input  # type: ignore[attr-defined]
        if inline is None or Token.is_unresolved(inline):
            return []
        return [p for block in inline for p in policy_violations(getattr(block, "policy", None))]
    if kind == "aws_iam_policy_document":
        return [
            "policy document uses NotAction; name the allowed actions instead"
            if a == "NotAction"
            else f"policy document has wildcard action {a!r}; name each action"
            for a in _document_actions(node)
            if a == "NotAction" or "*" in a
        ]
    return []


def _check_log_retention(node: IConstruct) -> list[str]:
    if _tf_type(node) == "aws_cloudwatch_log_group" and node.retention_in_days_input is None:  # type: ignore[attr-defined]
        return ["log group has no retention_in_days; logs would be kept forever"]
    return []


RULES: tuple[Callable[[IConstruct], list[str]], ...] = (_check_policy, _check_log_retention)


@jsii.implements(IAspect)
class ValidationAspect:
    """Attach an error annotation for every rule a resource breaks."""

    def __init__(self, rules: Iterable[Callable[[IConstruct], list[str]]] = RULES) -> None:
        self.rules = tuple(rules)

    def visit(self, node: IConstruct) -> None:
        for rule in self.rules:
            for problem in rule(node):
                Annotations.of(node).add_error(f"[tap-validation] {problem}")
