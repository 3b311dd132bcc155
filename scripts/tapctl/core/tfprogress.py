"""Live progress of ``terraform apply -json`` and ``terraform destroy -json``.

Terraform's machine-readable UI prints one JSON object a line: ``version``, one
``planned_change`` per resource instance, ``apply_start`` / ``apply_progress`` (every
10 s while a resource is still being changed) / ``apply_complete`` / ``apply_errored``
per resource, ``diagnostic``, ``change_summary``, ``outputs``
(https://developer.hashicorp.com/terraform/internals/machine-readable-ui).

:class:`Progress` reads that stream line by line. It returns each line as the text
the stage's log keeps (the ``@message``; a diagnostic as ``Error: <summary>`` and its
detail, so :func:`terraform.error_summary`, the stale-plan check and
:func:`terraform.lock_info` read the log as before; a line that is not JSON as it
is), and prints a progress line per stack, ``<done>/<planned> resources``:

    apply    iot_pipeline           17/42 resources (aws_lambda_function.processor created, 3.1s)

*planned* counts the resource instances of the ``planned_change`` events; one is
*done* when its last hook completed or errored (a replacement has two: destroy and
create). A line is printed at the start, at most every :data:`INTERVAL` seconds while
resources complete, at once for an error, every :data:`HEARTBEAT` seconds while one
resource is still being changed, and always at the end.

On GitHub Actions (``GITHUB_ACTIONS=true``) the stack's log is printed when it ends,
as one block in a ``::group::`` (stacks run in parallel, and groups can neither nest
nor interleave), followed by one ``::error`` / ``::warning`` annotation per error /
warning diagnostic and per errored resource no diagnostic names.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from scripts.tapctl.core import ui

#: Seconds between two progress lines of one stack while resources complete.
INTERVAL = 5.0
#: Seconds between two lines of one stack while a resource is still being changed.
HEARTBEAT = 30.0

#: Hooks (``apply_complete``/``apply_errored``) each planned action ends with.
_HOOKS = {"create": 1, "update": 1, "delete": 1, "read": 1, "replace": 2}
_DONE = {"create": "created", "update": "updated", "delete": "destroyed", "read": "read"}
_DOING = {"create": "creating", "update": "modifying", "delete": "destroying", "read": "reading"}


def _addr(event: dict[str, Any], key: str) -> str:
    resource = (event.get(key) or {}).get("resource") or {}
    return str(resource.get("addr") or "?")


def _timestamp(event: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(event.get("@timestamp", "")))
    except ValueError:
        return None


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f}s"
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes}m{seconds:02d}s"


def render(event: dict[str, Any]) -> str:
    """One event as the log's text (ending in a newline)."""
    if event.get("type") != "diagnostic":
        return f"{event.get('@message', '')}\n"
    diag = event.get("diagnostic") or {}
    level = "Error" if diag.get("severity") == "error" else "Warning"
    lines = [f"{level}: {diag.get('summary', '')}"]
    where = diag.get("range") or {}
    if where.get("filename"):
        start = where.get("start") or {}
        lines += ["", f"  on {where['filename']} line {start.get('line', '?')}"]
    if diag.get("address"):
        lines += [f"  with {diag['address']}"]
    if diag.get("detail"):
        lines += ["", str(diag["detail"])]
    return "\n".join(lines) + "\n\n"


class Progress:
    """Progress of one stack's apply or destroy, fed Terraform's ``-json`` lines."""

    def __init__(
        self,
        stage: str,
        stack: str,
        *,
        emit: Callable[[str], None] | None = None,
        block: Callable[[list[str]], None] | None = None,
        github: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float = INTERVAL,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.stage = stage
        self.stack = stack
        self.emit = emit or ui.info  # one line, atomic (ui's lock): stacks run in parallel
        self.block = block or ui.block
        self.github = ui.github_actions() if github is None else github
        self.clock = clock
        self.interval = interval
        self.heartbeat = heartbeat
        self.remaining: dict[str, int] = {}  # resource instance -> hooks still to come
        self.planned = 0
        self.done = 0
        self.errored: list[str] = []  # resource instances whose change failed
        self.diagnostics: list[dict[str, Any]] = []
        self.log: list[str] = []  # the rendered text, for the GitHub group (on GitHub only)
        self.last = ""  # the latest resource that finished, e.g. "aws_sqs_queue.q created, 1.2s"
        self.started: dict[str, datetime] = {}
        self.printed: str | None = None  # the latest line printed
        self.printed_at = float("-inf")
        self.pending = False  # a change the rate limit held back

    # -- the stream ---------------------------------------------------------
    def feed(self, line: str) -> str:
        """Take one line of Terraform's output; return the text the log keeps."""
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict) or "type" not in event:
            text = line if line.endswith("\n") else line + "\n"
        else:
            text = render(event)
            self._event(event)
        if self.github:
            self.log.append(text)
        return text

    def _event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "planned_change":
            change = event.get("change") or {}
            hooks = _HOOKS.get(str(change.get("action")), 0)  # noop, move, forget, import: none
            addr = _addr(event, "change")
            if hooks and addr not in self.remaining:
                self.remaining[addr] = hooks
                self.planned += 1
        elif kind == "apply_start":
            addr = _addr(event, "hook")
            if stamp := _timestamp(event):
                self.started.setdefault(addr, stamp)
            if self.printed is None:
                self._print(f"{self.done}/{self.planned} resources (starting)")
        elif kind == "apply_complete":
            self._finished(event, failed=False)
        elif kind == "apply_errored":
            self._finished(event, failed=True)
        elif kind == "apply_progress":
            self._heartbeat(event)
        elif kind == "diagnostic":
            self.diagnostics.append(event.get("diagnostic") or {})

    def _finished(self, event: dict[str, Any], *, failed: bool) -> None:
        hook = event.get("hook") or {}
        addr = _addr(event, "hook")
        if addr not in self.remaining:  # not in the plan (an import, say): count it now
            self.remaining[addr] = 1
            self.planned += 1
        left = self.remaining[addr]
        if left > 0:
            left = 0 if failed else left - 1
            self.remaining[addr] = left
            if left == 0:
                self.done += 1
        action = str(hook.get("action", ""))
        elapsed = float(hook.get("elapsed_seconds") or 0)
        start, end = self.started.pop(addr, None), _timestamp(event)
        if start and end and (end - start).total_seconds() >= 0:
            elapsed = (end - start).total_seconds()
        if failed:
            self.errored.append(addr)
            self.last = f"{addr} {action or 'change'} FAILED, {_seconds(elapsed)}"
            self._print(self._line(), force=True)
        else:
            self.last = f"{addr} {_DONE.get(action, action or 'done')}, {_seconds(elapsed)}"
            self._print(self._line())

    def _heartbeat(self, event: dict[str, Any]) -> None:
        """Terraform says a resource is still being changed (every 10 s): never stay silent long."""
        now = self.clock()
        if self.pending and now - self.printed_at >= self.interval:
            self._print(self._line())
        elif now - self.printed_at >= self.heartbeat:
            hook = event.get("hook") or {}
            doing = _DOING.get(str(hook.get("action")), "changing")
            elapsed = _seconds(float(hook.get("elapsed_seconds") or 0))
            self._print(self._line(f"{_addr(event, 'hook')} still {doing}, {elapsed}"))

    # -- the lines ----------------------------------------------------------
    def _line(self, detail: str | None = None) -> str:
        detail = self.last if detail is None else detail
        failed = f"; {len(self.errored)} failed" if self.errored else ""
        inner = f"{detail}{failed}".strip("; ")
        return f"{self.done}/{self.planned} resources" + (f" ({inner})" if inner else "")

    def _print(self, text: str, *, force: bool = False) -> None:
        now = self.clock()
        if not force and self.printed is not None and now - self.printed_at < self.interval:
            self.pending = True
            return
        self.emit(f"{self.stage:<8} {self.stack:<22} {text}")
        self.printed, self.printed_at, self.pending = text, now, False

    def finish(self, returncode: int) -> None:
        """The process ended: the last line (unless already printed) and, on GitHub, the block."""
        if (self.planned or self.done) and self.printed != self._line():
            self._print(self._line(), force=True)
        if self.github:
            self.block(self.github_block(returncode))

    def github_block(self, returncode: int) -> list[str]:
        """The stack's log in a group, then its annotations (outside: always visible)."""
        title = f"{self.stage} {self.stack}"
        outcome = "ok" if returncode == 0 else f"exit {returncode}"
        lines = [ui.workflow_command("group", f"{title} ({self.done}/{self.planned} resources, {outcome})")]
        lines += "".join(self.log).rstrip("\n").splitlines()
        lines.append(ui.workflow_command("endgroup"))
        named: set[str] = set()
        seen: set[tuple[str, str]] = set()
        for diag in self.diagnostics:
            level = "error" if diag.get("severity") == "error" else "warning"
            address = str(diag.get("address") or "")
            named.add(address)
            parts = [f"{address}: " if address else "", str(diag.get("summary", ""))]
            if diag.get("detail"):
                parts.append(f"\n\n{diag['detail']}")
            message = "".join(parts)
            if (level, message) not in seen:
                seen.add((level, message))
                lines.append(ui.workflow_command(level, message, title=title))
        for addr in self.errored:
            if addr not in named:
                lines.append(ui.workflow_command("error", f"{addr}: the change failed", title=title))
        return lines
