"""``scripts/tap outputs``: stack outputs -> ``cfn-outputs/flat-outputs.json`` and ``all-outputs.json``.

The flat file is the contract with ``tests/integration``: one key -> value map over
all stacks (a key two stacks define is an error), sensitive outputs left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scripts.tapctl.core import paths
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages import parallel
from scripts.tapctl.stages.session import Session


class OutputCollisionError(TapError):
    pass


def nested_from_terraform(raw: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``{stack: terraform output -json text}`` -> ``{stack: {key: value}}``.

    Sensitive outputs are left out: output files are CI artifacts.
    """
    nested: dict[str, dict[str, Any]] = {}
    for stack, text in raw.items():
        data = json.loads(text or "{}")
        nested[stack] = {k: v["value"] for k, v in sorted(data.items()) if not v.get("sensitive")}
    return nested


def flatten(nested: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One key -> value map over all stacks; a key two stacks define is an error."""
    flat: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for stack in sorted(nested):
        for key, value in nested[stack].items():
            if key in owner:
                raise OutputCollisionError(
                    f"output {key!r} is defined by both stack {owner[key]!r} and stack {stack!r}; "
                    "output names must be unique across stacks"
                )
            owner[key] = stack
            flat[key] = value
    return flat


def write(nested: Mapping[str, Mapping[str, Any]], directory: Path) -> tuple[Path, Path]:
    flat = flatten(nested)  # validate before writing anything
    directory.mkdir(parents=True, exist_ok=True)
    flat_path, all_path = directory / "flat-outputs.json", directory / "all-outputs.json"
    for path, data in ((flat_path, flat), (all_path, nested)):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
    return flat_path, all_path


def load_flat(path: Path) -> dict[str, Any]:
    """Read flat outputs with one clear error for each way the file can be bad."""
    if not path.exists():
        raise TapError(f"outputs file {path} is missing: run `scripts/tap outputs` after apply")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise TapError(f"outputs file {path} is empty: run `scripts/tap outputs` after apply")
    try:
        data = json.loads(text, object_pairs_hook=lambda pairs: _unique_keys(path, pairs))
    except ValueError as exc:
        raise TapError(
            f"outputs file {path} is not valid JSON ({exc}); re-run `scripts/tap outputs`"
        ) from None
    if not isinstance(data, dict):
        raise TapError(f"outputs file {path} must hold a JSON object of output name -> value")
    return data


def _unique_keys(path: Path, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise OutputCollisionError(
                f"outputs file {path} defines output {key!r} twice; output names must be unique "
                "across stacks: re-run `scripts/tap outputs`"
            )
        seen[key] = value
    return seen


def collect(session: Session) -> tuple[Path, Path]:
    """``terraform output -json`` of every stack, written as the two outputs files."""

    def one(stack: str) -> str:
        tf = session.tf(stack)
        tf.init()
        return tf.output_json()

    results = session.run_stacks("outputs", one, ordered=False)
    parallel.raise_on_failure("outputs", results)
    nested = nested_from_terraform({s: r.value or "{}" for s, r in results.items()})
    return write(nested, paths.outputs_dir())


def command(session: Session) -> int:
    flat, nested = collect(session)
    print(f"wrote {flat} and {nested}")
    return 0
