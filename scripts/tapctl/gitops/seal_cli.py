"""``scripts/tap seal`` / ``unseal``: the commands around :mod:`scripts.tapctl.stages.seal`.

Both take ``-e``/``-s`` (default ``$ENVIRONMENT``/``$ENVIRONMENT_SUFFIX``) and
``--commit`` (default ``$TAP_COMMIT``, then ``$GITHUB_SHA``, then the work tree's
HEAD): the sealed file is bound to that environment instance and commit.
"""

from __future__ import annotations

from pathlib import Path

from lib.config import Target
from scripts.tapctl.core import paths, ui
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import commits
from scripts.tapctl.stages import seal


def binding(target: Target, commit: str | None, *, command: str) -> seal.Binding:
    """The environment instance and commit a sealed file is bound to."""
    commit = commit or commits.of_run()
    if not commit:
        raise TapError(f"{command}: no commit to bind to: pass --commit, or set $TAP_COMMIT/$GITHUB_SHA")
    return seal.Binding(environment=target.env.name, suffix=target.suffix, commit=commit)


def seal_command(target: Target, *, out: Path, folder: Path | None = None, commit: str | None = None) -> int:
    folder = folder or paths.outdir()
    bound = binding(target, commit, command="seal")
    size = seal.seal(folder, out, seal.key_from_env(), binding=bound)
    ui.info(
        f"sealed {folder} into {out} ({size / 1e6:.1f} MB, AES-256-GCM) for "
        f"{bound.environment}/{bound.suffix} at {bound.commit[:12]}"
    )
    return 0


def unseal_command(
    target: Target, *, sealed: Path, into: Path | None = None, commit: str | None = None
) -> int:
    into = into or paths.outdir()
    names = seal.unseal(sealed, into, seal.key_from_env(), binding=binding(target, commit, command="unseal"))
    ui.info(f"unsealed {len(names)} file(s) from {sealed} into {into}")
    return 0
