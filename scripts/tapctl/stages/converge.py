"""``scripts/tap converge``: plan again with ``-detailed-exitcode`` after an apply; any change fails."""

from __future__ import annotations

from scripts.tapctl.core.errors import StageFailed
from scripts.tapctl.stages import parallel
from scripts.tapctl.stages.plans import PlanSummary, summarize
from scripts.tapctl.stages.session import Session


def converge(session: Session) -> dict[str, PlanSummary]:
    """Plan again with ``-detailed-exitcode``: any change is drift."""

    def one(stack: str) -> PlanSummary:
        tf = session.tf(stack)
        tf.init()
        changed = tf.plan("converge.tfplan", detailed=True)
        summary = summarize(stack, tf.show_json("converge.tfplan")) if changed else PlanSummary(stack)
        if changed:
            addrs = ", ".join(f"{c.action} {c.address}" for c in summary.changes[:10])
            raise StageFailed(f"{stack} has changes after apply ({summary.counts()}): {addrs}")
        return summary

    results = session.run_stacks("converge", one)
    parallel.raise_on_failure("converge", results)
    return {s: r.value for s, r in results.items() if r.value is not None}


def command(session: Session) -> int:
    converge(session)
    print("no changes: every stack matches its configuration")
    return 0
