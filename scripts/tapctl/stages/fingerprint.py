"""What a stack *is*, as one hash, and the record of the last one applied.

A stack's fingerprint is a sha256 over everything synth wrote for it: its Terraform
configuration (``cdk.tf.json``, canonical JSON), every file of its assets (Lambda
packages, layers) by relative path and content, and its entry in ``tap-synth.json``
(region, dependencies, state key, container image tags, which are themselves content
hashes of the image folders). Nothing of the run enters it: synth keeps commit, author
and time out of the configuration (``lib.app.CiMetadata``), and the top level of
``tap-synth.json`` that holds them is not hashed.

After a successful apply the fingerprint is recorded next to the stack's state
(``<suffix>/<stack>.fingerprint.json`` in the state bucket) with the commit that
applied it; destroy removes the record before the resources. A missing or unreadable
record reads as ``None``: the caller treats it as "changed", never "unchanged".
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lib.config import fingerprint_key
from scripts.tapctl.core import paths
from scripts.tapctl.stages import state
from scripts.tapctl.stages.session import Session

#: Bumped when what is hashed changes, so old records never match new fingerprints.
SCHEME = "tap-fingerprint-v1"


@dataclass(frozen=True)
class Record:
    """What the state bucket remembers about the last apply of a stack."""

    fingerprint: str
    commit: str
    applied_at: str


def fingerprint(stack_dir: Path, stack_meta: dict[str, Any]) -> str:
    """sha256 of a synthesized stack: configuration, assets and its synth metadata."""
    digest = hashlib.sha256(SCHEME.encode())
    config = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    _feed(digest, "config", json.dumps(config, sort_keys=True, separators=(",", ":")).encode())
    _feed(digest, "meta", json.dumps(stack_meta, sort_keys=True, separators=(",", ":")).encode())
    assets = stack_dir / "assets"
    if assets.is_dir():
        for path in sorted(p for p in assets.rglob("*") if p.is_file()):
            _feed(digest, f"asset:{path.relative_to(assets).as_posix()}", path.read_bytes())
    return digest.hexdigest()


def _feed(digest: Any, label: str, data: bytes) -> None:
    # length-prefixed, so no two different inputs can run together into the same bytes
    for part in (label.encode(), data):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)


def of_session(session: Session) -> dict[str, str]:
    """The fingerprint of every synthesized stack of the session."""
    meta = session.metadata()["stacks"]
    return {stack: fingerprint(session.stack_dir(stack), meta[stack]) for stack in meta}


def current_commit(metadata: dict[str, Any]) -> str:
    """The commit being applied: synth's record, the CI's variables, else the checkout's HEAD."""
    for value in (metadata.get("commit"), os.environ.get("TAP_COMMIT"), os.environ.get("GITHUB_SHA")):
        if value:
            return str(value)
    proc = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else "unknown"


def read(session: Session, stack: str) -> Record | None:
    """The recorded fingerprint of ``stack``, or None when there is none or it is unreadable."""
    s3 = session.state_client()
    try:
        body = s3.get_object(Bucket=session.target.env.state.bucket, Key=_key(session, stack))["Body"].read()
        data = json.loads(body)
        return Record(
            str(data["fingerprint"]), str(data.get("commit", "unknown")), str(data.get("applied_at", ""))
        )
    except Exception:  # missing, access denied, not JSON, wrong shape: all mean "changed"
        return None


def write(session: Session, stack: str, value: str) -> Record:
    """Record ``value`` as what ``stack`` now is (after its apply succeeded)."""
    record = Record(
        fingerprint=value,
        commit=current_commit(session.metadata()),
        applied_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    session.state_client().put_object(
        Bucket=session.target.env.state.bucket,
        Key=_key(session, stack),
        Body=json.dumps(asdict(record), indent=2).encode(),
        ContentType="application/json",
    )
    return record


def forget(session: Session, stack: str) -> None:
    """Remove the record (every version): the next change detection sees ``stack`` as changed."""
    state.delete_versions(session.state_client(), session.target.env.state.bucket, _key(session, stack))


def _key(session: Session, stack: str) -> str:
    return fingerprint_key(session.target.suffix, stack)
