"""Remove one stale Terraform state lock, and only that one.

The S3 backend's native lock (``use_lockfile``) is the object
``<suffix>/<stack>.tfstate.tflock`` next to the state, holding Terraform's
lock info as JSON. A Terraform killed mid-apply (SIGKILL, a lost runner)
leaves it behind; every later run then waits and fails naming the lock id.
``scripts/tap unlock --stack S --lock-id ID`` deletes that object version
only if its ``ID`` is the one given: a newer lock (another run that started
since) is never touched.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lib.config import state_key
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages.session import Session

_LOCK_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def validate_lock_id(text: str) -> str:
    """argparse type: Terraform lock ids are UUIDs."""
    if not _LOCK_ID.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a lock id: copy the UUID from the 'locked by' error (e.g. "
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427)"
        )
    return text


def lock_key(suffix: str, stack: str) -> str:
    return state_key(suffix, stack) + ".tflock"


def read_lock(s3: Any, bucket: str, key: str) -> tuple[dict[str, Any], str | None] | None:
    """The lock info and the object version holding it, or None when unlocked."""
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        return None
    body = obj["Body"].read().decode(errors="replace")
    try:
        info = json.loads(body)
    except ValueError:
        info = {}
    return (info if isinstance(info, dict) else {}), obj.get("VersionId")


def unlock(session: Session, stack: str, lock_id: str) -> str:
    """Delete the lock of ``stack`` if (and only if) its id is ``lock_id``."""
    if stack not in session.target.env.stacks:
        raise TapError(
            f"--stack {stack!r} is not a stack of environment {session.target.env.name!r}: "
            f"use one of {', '.join(session.target.env.stacks)}"
        )
    state = session.target.env.state
    s3 = session.state_client()
    key = lock_key(session.target.suffix, stack)
    found = read_lock(s3, state.bucket, key)
    if found is None:
        raise TapError(f"s3://{state.bucket}/{key} does not exist: {stack} is not locked")
    info, version = found
    if info.get("ID") != lock_id:
        raise TapError(
            f"the lock on {stack} has id {info.get('ID', '(unreadable)')!r} (held by "
            f"{info.get('Who', '?')}, {info.get('Operation', '?')}), not {lock_id!r}: "
            "nothing removed. Unlock only a lock whose holder is gone."
        )
    params = {"Bucket": state.bucket, "Key": key}
    if version:
        params["VersionId"] = version  # exactly the version read: a newer lock survives
    s3.delete_object(**params)
    return f"removed lock {lock_id} on {stack} (held by {info.get('Who', '?')}, {info.get('Operation', '?')})"


def command(session: Session, stack: str, lock_id: str) -> int:
    print(unlock(session, stack, lock_id))
    return 0
