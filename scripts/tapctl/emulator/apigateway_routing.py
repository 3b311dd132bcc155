"""Which resource of a REST API a request path selects, as API Gateway routes it.

:func:`route_path` walks moto's resource tree of the API from its root resource, one path segment
at a time, trying at each level a literal path part first, then a ``{param}`` part, then a greedy
``{proxy+}`` part (which takes the rest of the path), and returns the resource with the path
parameters bound on the way, or None when no resource matches (API Gateway's "Missing
Authentication Token").
"""

from __future__ import annotations

from typing import Any

Route = tuple[Any, dict[str, str]]  # a moto Resource and the path parameters


def route_path(api: Any, path: str) -> Route | None:
    """The resource ``path`` selects (literal, then ``{param}``, then ``{proxy+}``) and its parameters."""
    children: dict[str | None, list[Any]] = {}
    for resource in list(api.resources.values()):
        children.setdefault(resource.parent_id, []).append(resource)
    parts = [p for p in path.split("/") if p]
    return _walk(children, api.resources[api.root_resource_id], parts, {})


def _rank(resource: Any) -> int:
    part = resource.path_part
    return 2 if part.endswith("+}") else 1 if part.startswith("{") else 0


def _walk(
    children: dict[Any, list[Any]], node: Any, parts: list[str], params: dict[str, str]
) -> Route | None:
    if not parts:
        return node, params
    for child in sorted(children.get(node.id, []), key=_rank):
        part = child.path_part
        if part.endswith("+}"):
            return child, {**params, part[1:-2]: "/".join(parts)}
        if part.startswith("{") or part == parts[0]:
            bound = {part[1:-1]: parts[0]} if part.startswith("{") else {}
            if found := _walk(children, child, parts[1:], {**params, **bound}):
                return found
    return None
