"""``scripts/tap comment``: the PR comment / job summary written from the saved plans.

The rendering is :mod:`scripts.tapctl.gitops.comment`; this module reads what
``plan`` left in ``cdktf.out`` (or renders "not planned" with a reason), adds the
``--result NAME=STATUS`` rows, and writes the Markdown file the workflow posts.
"""

from __future__ import annotations

from pathlib import Path

from lib.config import Target
from scripts.tapctl.core import paths
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import changes, comment, comment_inputs, github


def parse_results(items: list[str], junit: Path | None) -> list[comment.JobResult]:
    """``NAME=STATUS`` items as result rows; a ``test`` row gets the JUnit counts."""
    counts = comment_inputs.junit_counts(junit) if junit else None
    results = []
    for item in items:
        name, sep, status = item.partition("=")
        if not sep or not name.strip():
            raise TapError(f"--result {item!r} is not NAME=STATUS")
        status = status.strip() or "skipped"
        if status not in comment.RESULT_MARK:
            raise TapError(f"--result {item!r}: status must be one of {', '.join(comment.RESULT_MARK)}")
        detail = comment_inputs.describe_tests(counts) if junit and "test" in name else ""
        results.append(comment.JobResult(name.strip(), status, detail))
    return results


def command(
    target: Target,
    *,
    out: Path,
    summary: bool = False,
    title: str = "Terraform plan",
    commit: str | None = None,
    results: list[str] | None = None,
    junit: Path | None = None,
    results_title: str = "",
    not_planned: str | None = None,
) -> int:
    report = comment.PlanReport(
        target.env.name,
        target.suffix,
        {},
        commit=commit,
        run_url=github.run_url(),
        title=title,
        results_title=results_title,
    )
    if not_planned is not None:
        report.results = parse_results(results or [], None)
        return _write(out, comment.render_not_planned(report, not_planned), summary=summary)
    detected = changes.load(paths.outdir())  # what `scripts/tap changed` decided, if it was asked
    try:
        expected = detected.stacks if detected is not None else ()
        report = comment_inputs.load_report(paths.outdir(), report, expected=expected)
    except FileNotFoundError as exc:
        if detected is None or detected.changed:
            raise TapError(str(exc)) from None
        # no stack changed, so nothing was planned: the comment says so (the report has no plans)
    if detected is not None:
        report.unchanged = {stack: record.commit for stack, record in detected.unchanged.items()}
    report.results = parse_results(results or [], junit)
    return _write(out, comment.render(report), summary=summary)


def _write(out: Path, text: str, *, summary: bool) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    if summary:
        github.append_step_summary(text)
    print(f"wrote {out} ({len(text):,} characters)")
    return 0
