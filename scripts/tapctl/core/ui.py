"""Progress lines and summary tables on stderr/stdout, and GitHub workflow commands."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field

_lock = threading.Lock()
_start = time.monotonic()


def info(message: str) -> None:
    with _lock:
        elapsed = time.monotonic() - _start
        print(f"[{elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)


def block(lines: list[str]) -> None:
    """Print lines as they are (no time prefix), all together: stacks running in
    parallel never interleave inside one block (a GitHub log group, say)."""
    if not lines:
        return
    with _lock:
        print("\n".join(lines), file=sys.stderr, flush=True)


def github_actions() -> bool:
    """Running as a GitHub Actions step: workflow commands (groups, annotations) are understood."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped (GitHub's rule)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as :func:`escape_data`, and ``:`` and ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str = "", **properties: str) -> str:
    """``::command key=value,...::message``, escaped, e.g. ``::error title=apply x::it failed``."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


@dataclass
class StageTimer:
    """Collects (stage, seconds, status) rows for the end-of-run summary."""

    rows: list[tuple[str, float, str]] = field(default_factory=list)

    def record(self, stage: str, seconds: float, status: str) -> None:
        self.rows.append((stage, seconds, status))

    def table(self) -> str:
        width = max([len(r[0]) for r in self.rows] + [5])
        lines = [f"{'stage':<{width}}  {'seconds':>8}  status", f"{'-' * width}  {'-' * 8}  ------"]
        for stage, seconds, status in self.rows:
            lines.append(f"{stage:<{width}}  {seconds:8.1f}  {status}")
        total = sum(r[1] for r in self.rows)
        lines.append(f"{'total':<{width}}  {total:8.1f}")
        return "\n".join(lines)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    out = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out.extend("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
    return "\n".join(out)
