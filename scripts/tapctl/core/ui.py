"""Progress lines and summary tables on stderr/stdout."""

from __future__ import annotations

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
