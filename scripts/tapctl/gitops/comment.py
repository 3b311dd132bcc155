"""The PR comment (and job summary) rendered from saved plans.

Input: each stack's ``cdktf.out/stacks/<stack>/plan-summary.json`` (its ``PlanSummary``,
from ``terraform show -json``) and ``plan.txt``. Output: one Markdown
document that GitHub accepts as a comment (< 65,536 characters), laid out so
the important part survives trimming:

1. a hidden marker per target environment (``<!-- tap-plan:<env> -->``), so
   the comment is found and updated in place, never duplicated;
2. a header with environment, commit and run link;
3. the per-stack table (add / change / destroy / replace, an "also" column for
   reads, imports, moves, forgets and outputs when any stack has them, and a
   status mark), errors and destructive changes first, then what is forgotten
   (removed from the state, kept in the cloud) -- or a single line when nothing
   changes;
4. per stack, collapsible details: resource addresses with actions (replace
   order, import, moved from, Terraform's reason), the outputs that change, then
   the plan text, trimmed (head and tail kept) so the whole stays under the limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scripts.tapctl.gitops.comment_text import clip, fair_shares, fence, trim
from scripts.tapctl.stages.plans import REASONS, PlanSummary, ResourceChange

#: GitHub rejects comments over 65,536 characters; keep a margin.
COMMENT_LIMIT = 65_000
#: Room kept free for the sticky-comment action's own marker and safety.
_RESERVE = 600
MAX_ERROR_CHARS = 3_000
MAX_DESTRUCTIVE_LISTED = 60
MAX_ADDRESSES_PER_STACK = 100
MIN_TEXT_SHARE = 400
LEFT_OUT = "Plan text left out to keep the comment under GitHub's limit (see the run's artifacts)."

MARK_ERROR = "❌"
MARK_DESTRUCTIVE = "⚠️"
MARK_CHANGES = "📝"
MARK_NONE = "✅"
MARK_FORGET = "✂️"
ACTION_MARK = {
    "delete": "🗑️ destroy",
    "replace": "♻️ replace",
    "update": "~ update",
    "create": "\\+ create",  # escaped: "- + x" would be a nested Markdown list
    "read": "📖 read",
    "forget": f"{MARK_FORGET} forget",
    "other": "❔ unrecognized",
}
IMPORT_MARK = "📥 import"
MOVED_MARK = "↪️ moved"
OUTPUT_MARK = {"create": "\\+", "update": "~", "delete": "\\-"}
REPLACE_ORDER = {
    "destroy-before-create": "destroy, then create",
    "create-before-destroy": "create before destroy",
    "create-then-forget": "create the new one, forget the old one (kept, no longer managed)",
}
RESULT_MARK = {"success": "✅", "failure": "❌", "cancelled": "⏹️", "skipped": "⏭️"}


def marker(env: str, kind: str = "plan") -> str:
    """The hidden line that identifies the comment (or issue) of one environment."""
    return f"<!-- tap-{kind}:{env} -->"


@dataclass(frozen=True)
class JobResult:
    """One line of the results section (e.g. the ephemeral deploy and its tests)."""

    name: str
    status: str  # success | failure | cancelled | skipped
    detail: str = ""


@dataclass
class PlanReport:
    env: str
    suffix: str
    summaries: dict[str, PlanSummary]
    texts: dict[str, str] = field(default_factory=dict)
    commit: str | None = None
    run_url: str | None = None
    title: str = "Terraform plan"
    kind: str = "plan"
    results_title: str = ""
    results: list[JobResult] = field(default_factory=list)
    #: stack -> the commit whose apply it is unchanged since (`scripts/tap changed`); None:
    #: change detection was not asked, every synthesized stack was planned
    unchanged: dict[str, str] | None = None

    @property
    def errored(self) -> list[PlanSummary]:
        return [s for s in self.summaries.values() if s.error]

    @property
    def destructive(self) -> list[PlanSummary]:
        return [s for s in self.summaries.values() if s.destructive and not s.error]

    @property
    def forgotten(self) -> list[PlanSummary]:
        return [s for s in self.summaries.values() if s.forget and not s.error]

    @property
    def has_changes(self) -> bool:
        return any(s.has_changes for s in self.summaries.values())


def status_mark(summary: PlanSummary) -> str:
    if summary.error:
        return MARK_ERROR
    if summary.destructive:
        return MARK_DESTRUCTIVE
    return MARK_CHANGES if summary.has_changes else MARK_NONE


def _rank(summary: PlanSummary) -> tuple[int, str]:
    """Errors first, then destructive, then other changes, then unchanged."""
    if summary.error:
        return (0, summary.stack)
    if summary.destructive:
        return (1, summary.stack)
    return (2 if summary.has_changes else 3, summary.stack)


# -- rendering ---------------------------------------------------------------------


def render(report: PlanReport, limit: int = COMMENT_LIMIT) -> str:
    """The whole comment, always shorter than ``limit`` characters."""
    if not report.summaries and report.unchanged is not None:
        return render_no_stack_changes(report)
    head = _head(report) + _unchanged(report)
    tail = _results(report)
    stacks = sorted(report.summaries.values(), key=_rank)
    shown = [s for s in stacks if s.error or s.has_changes]
    budget = limit - len(head) - len(tail) - _RESERVE
    details = _details(shown, report.texts, budget)
    text = head + details + tail
    if len(text) >= limit:  # pathological input (e.g. thousands of stacks): keep the summary
        text = head + "\n_Per-stack details left out: the comment would exceed GitHub's limit._\n" + tail
    if len(text) >= limit:
        text = text[: limit - 200] + "\n\n_…comment truncated to GitHub's size limit._\n"
    return text


def _head(report: PlanReport) -> str:
    lines = [marker(report.env, report.kind), f"### {report.title} · `{report.env}`"]
    facts = [
        f"environment `{report.env}`"
        + (f" (suffix `{report.suffix}`)" if report.suffix != report.env else "")
    ]
    if report.commit:
        facts.append(f"commit `{report.commit[:12]}`")
    if report.run_url:
        facts.append(f"[workflow run]({report.run_url})")
    facts.append(f"{len(report.summaries)} stack{'s' if len(report.summaries) != 1 else ''}")
    lines.append(" · ".join(facts))
    lines.append("")
    if not report.has_changes and not report.errored:
        n = len(report.summaries)
        which = "The stack matches" if n == 1 else f"All {n} stacks match"
        lines.append(f"{MARK_NONE} **No changes.** {which} the configuration.")
        return "\n".join(lines) + "\n"
    if report.errored:
        names = ", ".join(f"`{s.stack}`" for s in report.errored)
        lines.append(f"> {MARK_ERROR} **Plan failed** for {names}: nothing can be applied until it is fixed.")
        lines.append("")
    if report.destructive:
        d = sum(s.destroy for s in report.destructive)
        r = sum(s.replace for s in report.destructive)
        o = sum(s.other for s in report.destructive)
        names = ", ".join(f"`{s.stack}`" for s in report.destructive)
        unknown = f", {o} with actions tap does not recognize" if o else ""
        lines.append(
            f"> {MARK_DESTRUCTIVE} **Destructive changes:** {d} to destroy, {r} to replace{unknown} "
            f"in {names}. Review them before merging."
        )
        lines.append("")
    if report.forgotten:
        f = sum(s.forget for s in report.forgotten)
        names = ", ".join(f"`{s.stack}`" for s in report.forgotten)
        lines.append(
            f"> {MARK_FORGET} **Removed from the state, not destroyed:** {f} in {names}. "
            "Terraform stops managing them; the real resources are kept."
        )
        lines.append("")
    lines += _table(report)
    for s in report.errored:
        lines += [f"**Error in `{s.stack}`:**", fence(clip(s.error or "", MAX_ERROR_CHARS)), ""]
    doomed = [
        (s.stack, c)
        for s in report.destructive
        for c in s.changes
        if c.action in ("delete", "replace", "other") and c.order != "create-then-forget"
    ]
    lines += _listed("**Destructive changes (listed first):**", doomed)
    forgotten = [
        (s.stack, c)
        for s in report.forgotten
        for c in s.changes
        if c.action == "forget" or c.order == "create-then-forget"
    ]
    lines += _listed("**Removed from the state only (the real resources are kept):**", forgotten)
    return "\n".join(lines) + "\n"


def _table(report: PlanReport) -> list[str]:
    """The per-stack counts; an "also" column only when a stack has reads, imports, moves,
    forgets, output or unrecognized changes."""
    also = any(s.extras() for s in report.summaries.values() if not s.error)
    lines = [
        "| | stack | add | change | destroy | replace |" + (" also |" if also else ""),
        "|---|---|--:|--:|--:|--:|" + ("---|" if also else ""),
    ]
    for s in sorted(report.summaries.values(), key=_rank):
        if s.error:
            lines.append(f"| {MARK_ERROR} | `{s.stack}` | – | – | – | – |" + (" – |" if also else ""))
        else:
            counts = f"{s.add} | {s.change} | {_bold(s.destroy)} | {_bold(s.replace)}"
            extra = f" {s.extras()} |" if also else ""
            lines.append(f"| {status_mark(s)} | `{s.stack}` | {counts} |{extra}")
    return [*lines, ""]


def _listed(title: str, items: list[tuple[str, ResourceChange]]) -> list[str]:
    if not items:
        return []
    lines = [title]
    for stack, change in items[:MAX_DESTRUCTIVE_LISTED]:
        lines.append(f"- {describe(change, stack)}")
    if len(items) > MAX_DESTRUCTIVE_LISTED:
        lines.append(f"- …and {len(items) - MAX_DESTRUCTIVE_LISTED} more (see the details below)")
    return [*lines, ""]


def describe(change: ResourceChange, stack: str | None = None) -> str:
    """One resource's line: what happens to it, then why and how.

    ``♻️ replace `aws_db_instance.db` (data) — destroy, then create; tainted``
    """
    if change.action == "no-op":  # an import or a move with nothing else to do
        head = IMPORT_MARK if change.importing else MOVED_MARK
    else:
        head = ACTION_MARK.get(change.action, f"❔ {change.action}")
    text = f"{head} `{change.address}`" + (f" ({stack})" if stack else "")
    notes = []
    if change.action == "replace" and change.order:
        notes.append(REPLACE_ORDER.get(change.order, change.order))
    if change.action == "forget":
        notes.append("removed from the state only, the real resource is kept")
    if change.action == "read":
        notes.append("during apply")
    if change.action == "other":
        notes.append(f"actions {change.actions}: review the plan text")
    if change.deposed:
        notes.append(f"deposed object `{change.deposed}`")
    if change.importing:
        id_note = f"id `{change.import_id}`" if change.import_id else ""
        if change.action == "no-op":
            notes += [id_note] if id_note else []
        else:
            notes.append("imported" + (f" ({id_note})" if id_note else ""))
    if change.previous_address:
        moved_only = change.action == "no-op" and not change.importing
        notes.append(("from" if moved_only else "moved from") + f" `{change.previous_address}`")
    if change.reason and change.action != "forget":
        notes.append(REASONS.get(change.reason, change.reason))
    return text + (" — " + "; ".join(notes) if notes else "")


def render_not_planned(report: PlanReport, reason: str) -> str:
    """The comment when no plan ran (a required check failed): it replaces an older plan
    comment, so a retargeted or refused PR never keeps a stale green plan."""
    lines = [*_title_and_facts(report), "", f"> {MARK_ERROR} **Not planned:** {reason}", ""]
    return "\n".join(lines) + "\n" + _results(report)


def _title_and_facts(report: PlanReport) -> list[str]:
    """The marker, the title and the facts line of a comment that shows no plan."""
    facts = [f"environment `{report.env}`"]
    if report.commit:
        facts.append(f"commit `{report.commit[:12]}`")
    if report.run_url:
        facts.append(f"[workflow run]({report.run_url})")
    return [marker(report.env, report.kind), f"### {report.title} · `{report.env}`", " · ".join(facts)]


def _bold(n: int) -> str:
    return f"**{n}**" if n else "0"


def _details(stacks: list[PlanSummary], texts: Mapping[str, str], budget: int) -> str:
    skeletons = {s.stack: _skeleton(s) for s in stacks}
    remaining = budget - sum(len(a) + len(b) for a, b in skeletons.values())
    wanted = {s.stack: texts.get(s.stack, "") for s in stacks if texts.get(s.stack, "").strip()}
    shares = fair_shares({k: len(v) + 40 for k, v in wanted.items()}, max(remaining, 0))
    out = []
    for s in stacks:
        opening, closing = skeletons[s.stack]
        body = ""
        if s.stack in wanted:
            share = shares.get(s.stack, 0)
            if share >= min(MIN_TEXT_SHARE, len(wanted[s.stack]) + 40):
                body = fence(trim(wanted[s.stack], share - 40)) + "\n"
            else:
                body = f"_{LEFT_OUT}_\n"
        out.append(opening + body + closing)
    return "".join(out)


def _skeleton(s: PlanSummary) -> tuple[str, str]:
    summary = f"{status_mark(s)} <code>{s.stack}</code>: " + ("plan failed" if s.error else s.counts())
    lines = [f"<details><summary>{summary}</summary>", ""]
    for change in s.changes[:MAX_ADDRESSES_PER_STACK]:
        lines.append(f"- {describe(change)}")
    if len(s.changes) > MAX_ADDRESSES_PER_STACK:
        lines.append(f"- …and {len(s.changes) - MAX_ADDRESSES_PER_STACK} more")
    for output in s.outputs[:MAX_ADDRESSES_PER_STACK]:
        lines.append(f"- {OUTPUT_MARK.get(output.action, '~')} output `{output.name}` ({output.action})")
    if len(s.outputs) > MAX_ADDRESSES_PER_STACK:
        lines.append(f"- …and {len(s.outputs) - MAX_ADDRESSES_PER_STACK} more outputs")
    if s.output_changes > len(s.outputs):  # counted without names (a drift check's exit code)
        lines.append(f"- {s.output_changes - len(s.outputs)} output(s) change")
    lines.append("")
    return "\n".join(lines) + "\n", "</details>\n\n"


def _results(report: PlanReport) -> str:
    if not report.results:
        return ""
    lines = ["", f"#### {report.results_title or 'Results'}", "", "| job | result | |", "|---|---|---|"]
    for r in report.results:
        mark = RESULT_MARK.get(r.status, "❔")
        lines.append(f"| {r.name} | {mark} {r.status} | {r.detail} |")
    return "\n".join(lines) + "\n"


def _unchanged(report: PlanReport) -> str:
    """The stacks change detection left out: listed, never planned (and the comment says so)."""
    if not report.unchanged:
        return ""
    rows = ", ".join(f"`{s}` (since `{c[:12]}`)" for s, c in sorted(report.unchanged.items()))
    return (
        f"**Unchanged since their last apply, not planned** ({len(report.unchanged)}): {rows}. "
        "Their synthesized configuration and assets are identical to what was applied.\n\n"
    )


def render_no_stack_changes(report: PlanReport) -> str:
    """A change that touches no stack (e.g. docs only): nothing was planned, and why."""
    n = len(report.unchanged or {})
    lines = [
        *_title_and_facts(report),
        "",
        f"{MARK_NONE} **No stack changes.** This change leaves all {n} stack{'s' if n != 1 else ''} "
        f"of `{report.env}` as last applied: nothing was planned or deployed.",
        "",
    ]
    return "\n".join(lines) + "\n" + _unchanged(report) + _results(report)
