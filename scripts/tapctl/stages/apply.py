"""``scripts/tap apply``: exactly the saved plans, stacks in dependency order, images pushed first."""

from __future__ import annotations

from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages import fingerprint, images, parallel
from scripts.tapctl.stages.parallel import StackResult
from scripts.tapctl.stages.plan import PLAN_FILE, SPECULATIVE_MARKER
from scripts.tapctl.stages.session import Session


def apply(session: Session) -> dict[str, StackResult[None]]:
    if (session.outdir / SPECULATIVE_MARKER).exists():
        raise TapError(
            f"the plans in {session.outdir} are speculative (`scripts/tap plan --speculative`: made "
            "without the state lock, for review only) and cannot be applied; run `scripts/tap plan` "
            "and apply that plan"
        )
    missing = [s for s in session.stacks if not (session.stack_dir(s) / PLAN_FILE).exists()]
    if missing:
        raise TapError(f"no saved plan for {', '.join(missing)}: run `scripts/tap plan` first")

    meta = session.metadata()["stacks"]

    def one(stack: str) -> None:
        tf = session.tf(stack)
        tf.init()
        # Container images the stack's functions use must exist before they are created.
        images.publish(session.cloud, session.metadata(), stack, log_name=f"{session.target.suffix}.{stack}")
        tf.apply(PLAN_FILE)
        # what the stack now is, for `scripts/tap changed` (only after a successful apply)
        fingerprint.write(session, stack, fingerprint.fingerprint(session.stack_dir(stack), meta[stack]))

    results = session.run_stacks("apply", one)
    parallel.raise_on_failure("apply", results)
    return results


def command(session: Session) -> int:
    apply(session)
    return 0
