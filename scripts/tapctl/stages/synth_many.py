"""Synthesize several environments in ONE process (the provider import is paid once).

``python -m scripts.tapctl.stages.synth_many --out DIR dev staging prod pr`` writes
``DIR/<env>/`` for each, each under its default suffix (:func:`lib.config.resolve_target`). Used by
``scripts/tap scan``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lib.app import CiMetadata, synth
from lib.config import resolve_target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synth_many")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("envs", nargs="+")
    args = parser.parse_args(argv)
    for name in args.envs:
        target = resolve_target(name)
        outdir = args.out / name
        outdir.mkdir(parents=True, exist_ok=True)
        synth(target, CiMetadata(), outdir)
        print(f"synthesized {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
