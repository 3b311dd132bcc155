"""``scripts/tap seal`` / ``unseal``: the commands around :mod:`scripts.tapctl.seal`.

Both take ``-e``/``-s`` (default ``$ENVIRONMENT``/``$ENVIRONMENT_SUFFIX``) and
``--commit`` (default ``$TAP_COMMIT``, then ``$GITHUB_SHA``, then the work tree's
HEAD): the sealed file is bound to that environment instance and commit.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from scripts.tapctl import commits, paths, seal, ui
from scripts.tapctl.errors import TapError


def register(sub: argparse._SubParsersAction, *, env_args: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "seal",
        help="encrypt the saved plans (cdktf.out, without .terraform/) with $TAP_PLAN_KEY for the apply job",
        description="saved plans hold the prior state, secrets included: the deploy workflow uploads "
        "them only sealed (AES-256-GCM, key derived from $TAP_PLAN_KEY), bound to the environment "
        "instance and commit",
    )
    p.add_argument("--out", type=Path, required=True, help="the sealed file to write")
    p.add_argument("folder", nargs="?", type=Path, default=None, help="what to seal (default: cdktf.out)")
    _binding_args(p, env_args)
    p.set_defaults(handler=cmd_seal)

    p = sub.add_parser(
        "unseal",
        help="authenticate, decrypt and extract a file written by `seal` (needs the same $TAP_PLAN_KEY)",
        description="refuses a wrong key, a changed file, or a file sealed for another environment "
        "instance or commit, before writing anything",
    )
    p.add_argument("sealed", type=Path, help="the file `seal` wrote")
    p.add_argument("--into", type=Path, default=None, help="where to extract (default: cdktf.out)")
    _binding_args(p, env_args)
    p.set_defaults(handler=cmd_unseal)


def _binding_args(p: argparse.ArgumentParser, env_args: Callable[[argparse.ArgumentParser], None]) -> None:
    env_args(p)
    p.add_argument(
        "--commit",
        default=None,
        help="the commit the plans were made from (default: $TAP_COMMIT, then $GITHUB_SHA, "
        "then `git rev-parse HEAD`)",
    )


def binding(args: argparse.Namespace) -> seal.Binding:
    """The environment instance and commit a sealed file is bound to."""
    from scripts.tapctl.cli import resolve

    target = resolve(args)
    commit = args.commit or commits.of_run()
    if not commit:
        raise TapError(f"{args.command}: no commit to bind to: pass --commit, or set $TAP_COMMIT/$GITHUB_SHA")
    return seal.Binding(environment=target.env.name, suffix=target.suffix, commit=commit)


def cmd_seal(args: argparse.Namespace) -> int:
    folder = args.folder or paths.outdir()
    bound = binding(args)
    size = seal.seal(folder, args.out, seal.key_from_env(), binding=bound)
    ui.info(
        f"sealed {folder} into {args.out} ({size / 1e6:.1f} MB, AES-256-GCM) for "
        f"{bound.environment}/{bound.suffix} at {bound.commit[:12]}"
    )
    return 0


def cmd_unseal(args: argparse.Namespace) -> int:
    into = args.into or paths.outdir()
    names = seal.unseal(args.sealed, into, seal.key_from_env(), binding=binding(args))
    ui.info(f"unsealed {len(names)} file(s) from {args.sealed} into {into}")
    return 0
