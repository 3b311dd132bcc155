"""``scripts/tap seal`` / ``unseal``: the commands around :mod:`scripts.tapctl.stages.seal`.

Both act on the :func:`binding` of ``-e``/``-s`` (default ``$ENVIRONMENT``/``$ENVIRONMENT_SUFFIX``),
``--commit`` (default ``$TAP_COMMIT``, then ``$GITHUB_SHA``, then the work tree's HEAD) and
``--stack``: the sealed file is bound to that environment instance and commit (and stack).
"""

from __future__ import annotations

from pathlib import Path

from lib.config import Target
from scripts.tapctl.core import paths, ui
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.gitops import commits
from scripts.tapctl.stages import seal


def binding(target: Target, commit: str | None, *, command: str, stack: str | None = None) -> seal.Binding:
    """The environment instance, commit (and stack, if one) a sealed file is bound to."""
    commit = commit or commits.of_run()
    if not commit:
        raise TapError(f"{command}: no commit to bind to: pass --commit, or set $TAP_COMMIT/$GITHUB_SHA")
    if stack is not None and stack not in target.env.stacks:
        raise TapError(
            f"{command} --stack {stack!r}: not a stack of {target.env.name} ({', '.join(target.env.stacks)})"
        )
    return seal.Binding(environment=target.env.name, suffix=target.suffix, commit=commit, stack=stack or "")


def _folder(stack: str | None) -> Path:
    """All of cdktf.out, or one stack's folder in it."""
    return paths.outdir() / "stacks" / stack if stack else paths.outdir()


def seal_command(bound: seal.Binding, *, out: Path, folder: Path | None = None) -> int:
    folder = folder or _folder(bound.stack)
    size = seal.seal(folder, out, seal.key_from_env(), binding=bound)
    what = f" ({bound.stack})" if bound.stack else ""
    ui.info(
        f"sealed {folder} into {out} ({size / 1e6:.1f} MB, AES-256-GCM) for "
        f"{bound.environment}/{bound.suffix}{what} at {bound.commit[:12]}"
    )
    return 0


def unseal_command(bound: seal.Binding, *, sealed: Path, into: Path | None = None) -> int:
    into = into or _folder(bound.stack)
    names = seal.unseal(sealed, into, seal.key_from_env(), binding=bound)
    ui.info(f"unsealed {len(names)} file(s) from {sealed} into {into}")
    return 0
