"""``scripts/tap destroy``: every stack in reverse dependency order, then its state; idempotent.

``--stacks`` destroys a subset (a workflow's job per stack, deepest dependency level
first): refused, before anything runs, while a stack that depends on one of them and
is not in the subset still has state.

:func:`validate` is the one destroy rule (protection, repeated suffix, ``--confirm``
on real AWS): the command and ``destroy-check`` both apply it before anything runs.
"""

from __future__ import annotations

from typing import Any

from lib.config import Target
from scripts.tapctl.core import ui
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages import fingerprint, parallel, state
from scripts.tapctl.stages.parallel import StackResult
from scripts.tapctl.stages.session import Session, SessionOptions, ready_session


def validate(target: Target, *, confirm: str | None, cloud_kind: str) -> None:
    """Refuse a protected environment or a wrong confirmation, before anything runs."""
    env = target.env
    if not env.protection.destroy_allowed:
        raise TapError(
            f"environment {env.name!r} is protected (protection.destroy_allowed is false in "
            f"environments/{env.name}.yaml): refusing to destroy {target.suffix!r}"
        )
    if confirm is not None and confirm != target.suffix:
        raise TapError(
            f"--confirm {confirm!r} does not match the suffix {target.suffix!r}: "
            "repeat the suffix exactly to confirm the destroy"
        )
    if cloud_kind == "aws" and confirm is None:
        raise TapError(f"destroying on real AWS needs --confirm {target.suffix}")


def destroy(session: Session) -> dict[str, StackResult[str]]:
    """Destroy every stack (reverse dependency order) and remove its state.

    Idempotent: a stack with no state is a no-op; running it twice succeeds."""
    bucket = session.target.env.state.bucket
    s3 = session.state_client()
    if not state.bucket_exists(s3, bucket):
        ui.info(f"destroy  state bucket s3://{bucket} does not exist: nothing to destroy")
        return {}

    _refuse_orphaning_dependents(session, s3, bucket)

    def one(stack: str) -> str:
        key = session.target.state_key(stack)
        # first: a destroy that fails half-way leaves the stack "changed", never "unchanged"
        fingerprint.forget(session, stack)
        if not state.object_exists(s3, bucket, key):
            return "no state: nothing to destroy"
        tf = session.tf(stack)
        tf.init()
        tf.destroy()
        removed = state.delete_all_versions(s3, bucket, key)
        return f"destroyed; removed {removed} state object version(s)"

    results = session.run_stacks("destroy", one, reverse=True, describe=str)
    parallel.raise_on_failure("destroy", results)
    return results


def _refuse_orphaning_dependents(session: Session, s3: Any, bucket: str) -> None:
    """A subset may not pull a stack out from under a dependent that is still deployed."""
    chosen = set(session.stacks)
    for stack, needs in session.deps.items():
        if stack in chosen:
            continue
        below = sorted(set(needs) & chosen)
        if below and state.object_exists(s3, bucket, session.target.state_key(stack)):
            raise TapError(
                f"--stacks: {stack} depends on {', '.join(below)} and still has state: destroy {stack} "
                "first (or with them)"
            )


def command(
    target: Target, options: SessionOptions, *, confirm: str | None, stacks: str | None = None
) -> int:
    validate(target, confirm=confirm, cloud_kind=options.cloud_kind)
    for stack, result in destroy(ready_session(target, options).select(stacks)).items():
        print(f"{stack}: {result.value}")
    return 0
