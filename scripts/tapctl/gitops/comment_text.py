"""Fitting plan text into a comment: fair shares of a size budget, head-and-tail
trimming, clipping and a code fence no text can break out of."""

from __future__ import annotations

import re
from collections.abc import Mapping


def fair_shares(sizes: Mapping[str, int], budget: int) -> dict[str, int]:
    """Split ``budget`` so small texts are shown whole and large ones share the rest."""
    shares: dict[str, int] = {}
    left = budget
    pending = sorted(sizes.items(), key=lambda kv: kv[1])
    while pending:
        fair = left // len(pending)
        name, size = pending.pop(0)
        shares[name] = min(size, fair)
        left -= shares[name]
    return shares


def trim(text: str, limit: int) -> str:
    """``text`` if it fits, else its head and tail with a note of what was cut.

    The tail holds Terraform's ``Plan: N to add...`` line and any errors, so it is kept.
    """
    if len(text) <= limit:
        return text
    note_room = 120
    keep = max(limit - note_room, 0)
    head_len, tail_len = (keep * 2) // 3, keep - (keep * 2) // 3
    head = text[:head_len].rsplit("\n", 1)[0] if "\n" in text[:head_len] else text[:head_len]
    tail = text[len(text) - tail_len :] if tail_len else ""
    if "\n" in tail:
        tail = tail.split("\n", 1)[1]
    cut = len(text) - len(head) - len(tail)
    return f"{head}\n\n... {cut:,} characters trimmed (full plan in the run's artifacts) ...\n\n{tail}"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 30] + "\n... (error text trimmed)"


def fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"
