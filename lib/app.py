"""Build the CDKTF app for one environment: one stack per system it lists."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from cdktf import App

from lib.config import Target, parse_target_outdir, target_from_environ
from lib.stacks import select_stacks, stack_class
from lib.stacks.context import StackContext

SYNTH_METADATA = "tap-synth.json"


@dataclass(frozen=True)
class CiMetadata:
    """Who and what triggered this synth. Recorded in the synth metadata (``tap-synth.json``)
    only: never in the Terraform configuration, whose tags must not churn between runs."""

    repository: str = ""
    author: str = ""
    pr_number: str = ""
    commit: str = ""


def ci_metadata_from(environ: Mapping[str, str]) -> CiMetadata:
    return CiMetadata(
        repository=environ.get("REPOSITORY", ""),
        author=environ.get("COMMIT_AUTHOR", ""),
        pr_number=environ.get("PR_NUMBER", ""),
        commit=environ.get("COMMIT_SHA", ""),
    )


def build_app(target: Target, outdir: str | os.PathLike[str], only: str | None = None) -> App:
    """The stacks of ``target``: a function of the environment files and the code only."""
    app = App(outdir=str(outdir))
    stacks = {}
    for name in select_stacks(target, only):
        cls = stack_class(name)
        stacks[name] = cls(app, ctx=StackContext.of(target, name, depends_on=cls.depends_on))
    for stack in stacks.values():
        for dep in type(stack).depends_on:
            if dep in stacks:
                stack.add_dependency(stacks[dep])
    return app


def _stack_images(app: App, name: str) -> list[dict[str, object]]:
    """Container images a stack needs pushed before it is applied (``scripts/tapctl/stages/images.py``)."""
    stack = app.node.try_find_child(name)
    return [image.to_metadata() for image in getattr(stack, "container_images", ())]


def prepare_outdir(outdir: str | os.PathLike[str]) -> Path:
    """``outdir`` as an absolute path that exists: jsii creates only its last component,
    relative to the jsii runtime's own working directory."""
    out = Path(outdir).expanduser().absolute()
    out.mkdir(parents=True, exist_ok=True)
    return out


def synth(target: Target, ci: CiMetadata, outdir: str | os.PathLike[str], only: str | None = None) -> Path:
    """Synthesize every stack of ``target`` (or the subset ``only``) into ``outdir``."""
    selected = select_stacks(target, only)
    out = prepare_outdir(outdir)
    app = build_app(target, out, only)
    app.synth()
    meta = {
        "environment": target.env.name,
        "suffix": target.suffix,
        "account_id": target.env.account_id,
        "stacks": {
            name: {
                "region": target.env.region_for(name),
                "depends_on": [d for d in stack_class(name).depends_on if d in selected],
                "state_key": target.state_key(name),
                "images": _stack_images(app, name),
            }
            for name in selected
        },
        "state": {"bucket": target.env.state.bucket, "region": target.env.state.region},
        "commit": ci.commit,
        "ci": asdict(ci),
    }
    (out / SYNTH_METADATA).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out


def main(environ: Mapping[str, str] = os.environ, argv: Sequence[str] | None = None) -> Path:
    """The target ``$ENVIRONMENT``/``$ENVIRONMENT_SUFFIX`` into ``$CDKTF_OUTDIR``; each
    ``--also ENV[/SUFFIX]=DIR`` in the same process after it (the provider bindings, most of a
    synth's time, load once). ``$TAP_STACKS`` narrows every target to those stacks."""
    parser = argparse.ArgumentParser(prog="tap.py", description=__doc__)
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="ENV[/SUFFIX]=DIR",
        help="synthesize this target into DIR too, in the same process",
    )
    also = [parse_target_outdir(spec) for spec in parser.parse_args(argv).also]  # checked by the CLI
    ci = ci_metadata_from(environ)
    only = environ.get("TAP_STACKS") or None
    out = synth(target_from_environ(environ), ci, environ.get("CDKTF_OUTDIR", "cdktf.out"), only)
    for target, outdir in also:
        synth(target, ci, outdir, only)
    return out
