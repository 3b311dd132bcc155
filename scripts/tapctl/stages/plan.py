"""``scripts/tap plan``: every stack planned in parallel; ``tfplan`` for apply, plus what review reads.

Each stack's directory gets ``plan.json``, ``plan.txt`` and ``plan-summary.json``
(its :class:`~scripts.tapctl.stages.plans.PlanSummary`, an error included): what the
PR comment is assembled from, whether the stacks were planned by one command or by
one job each (a workflow matrix: each job uploads its stack's files).
"""

from __future__ import annotations

import json
from pathlib import Path

from scripts.tapctl.stages import parallel, plans
from scripts.tapctl.stages.plans import PlanSummary, summarize
from scripts.tapctl.stages.session import Session

PLAN_FILE = "tfplan"
PLAN_SUMMARY = "plan-summary.json"
#: A speculative plan's own file: read for plan.json/plan.txt, then deleted.
SPECULATIVE_PLAN_FILE = "speculative.tfplan"
#: Present in cdktf.out after `plan --speculative`: `apply` refuses to run.
SPECULATIVE_MARKER = "plan-speculative.json"


def plan(session: Session, *, destroy: bool = False, speculative: bool = False) -> dict[str, PlanSummary]:
    """Plan every stack: ``tfplan`` for ``apply``, plus ``plan.json``, ``plan.txt`` and the summary.

    ``speculative`` (pull requests): no state lock (``-lock=false``) and no saved plan
    left behind, so it never makes an apply wait and can never be applied."""
    mark_speculative(session.outdir, speculative)
    for old in session.outdir.glob(f"stacks/*/{PLAN_SUMMARY}"):
        old.unlink()  # the comment shows what this command planned, never an older plan

    def one(stack: str) -> PlanSummary:
        tf = session.tf(stack)
        tf.init()
        stack_dir = session.stack_dir(stack)
        plan_file = SPECULATIVE_PLAN_FILE if speculative else PLAN_FILE
        tf.plan(plan_file, destroy=destroy, lock=not speculative)
        raw = tf.show_json(plan_file)
        (stack_dir / "plan.json").write_text(raw)
        (stack_dir / "plan.txt").write_text(tf.show_text(plan_file))
        if speculative:
            (stack_dir / plan_file).unlink(missing_ok=True)
        return summarize(stack, raw)

    results = session.run_stacks("plan", one, describe=PlanSummary.counts)
    summaries = {s: r.value or PlanSummary(stack=s, error=r.error) for s, r in results.items()}
    for stack, summary in summaries.items():
        (session.stack_dir(stack) / PLAN_SUMMARY).write_text(json.dumps({stack: summary.to_dict()}, indent=2))
    parallel.raise_on_failure("plan", results)
    return summaries


def mark_speculative(outdir: Path, speculative: bool) -> None:
    """Record what kind of plan ``outdir`` holds; a speculative one drops any saved plan."""
    marker = outdir / SPECULATIVE_MARKER
    if not speculative:
        marker.unlink(missing_ok=True)
        return
    for saved in outdir.glob(f"stacks/*/{PLAN_FILE}"):
        saved.unlink()
    marker.write_text(json.dumps({"speculative": True, "lock": False}) + "\n", encoding="utf-8")


def command(session: Session, *, destroy: bool, speculative: bool) -> int:
    print(plans.table(plan(session, destroy=destroy, speculative=speculative)))
    return 0
