"""The tagging Aspect: default tags merged into every taggable resource.

Defaults (environment, suffix, repository, author, PR number, cost centre,
...) are merged *under* a resource's own tags: a key the resource sets
itself is never overwritten. The provider's ``default_tags`` carry the same
set; the Aspect makes the tags visible per resource in the synthesized JSON
(so policy scanners and unit tests see them) and covers resources a
provider-level default cannot reach.
"""

from __future__ import annotations

from collections.abc import Mapping

import jsii
from cdktf import IAspect, TerraformResource
from constructs import IConstruct


def merge_tags(defaults: Mapping[str, str], own: Mapping[str, str] | None) -> dict[str, str]:
    """``defaults`` overlaid by ``own``: the resource's own value wins."""
    return {**defaults, **(own or {})}


def is_taggable(node: IConstruct) -> bool:
    return isinstance(node, TerraformResource) and hasattr(type(node), "tags_input")


@jsii.implements(IAspect)
class TaggingAspect:
    """Merge ``defaults`` into the ``tags`` of every taggable resource."""

    def __init__(self, defaults: Mapping[str, str]) -> None:
        self.defaults = dict(defaults)

    def visit(self, node: IConstruct) -> None:
        if not is_taggable(node):
            return
        own = node.tags_input  # type: ignore[attr-defined]
        if own is not None and not isinstance(own, Mapping):
            return  # a token (computed tags): leave it to the provider's default_tags
        node.tags = merge_tags(self.defaults, own)  # type: ignore[attr-defined]
