"""argparse types: each refuses a bad value while parsing, naming the value and the rule."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from lib.config import Target, parse_target_outdir
from scripts.tapctl.bench.command import MAX_REPS, PARTS


def _int_in(
    text: str, low: int, high: int, *, what: str = "an integer", flag: str = "", note: str = ""
) -> int:
    """``text`` as an integer from ``low`` to ``high``; else an error naming ``flag`` (if any),
    the value and the range (and ``note``)."""
    lead = f"{flag} " if flag else ""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{lead}{text!r} is not {what}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{lead}{value} is out of range: use {low}-{high}{note}")
    return value


def positive(text: str) -> int:
    """A number of stacks (or peer processes) at once: 1-64."""
    return _int_in(text, 1, 64)


def workers(text: str) -> str:
    """pytest-xdist's ``-n``: ``auto``, ``logical`` or 0-64 (0 = serial)."""
    if text in ("auto", "logical"):
        return text
    what = "auto, logical or a number of workers"
    return str(_int_in(text, 0, 64, what=what, note=" (0 runs the tests serially)"))


def port(text: str) -> int:
    return _int_in(text, 1024, 65535, what="a port number")


def checked(fn: Callable[[str], str]) -> Callable[[str], str]:
    """An argparse type from a validator that raises ``ValueError`` with the rule."""

    def check(text: str) -> str:
        try:
            return fn(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return check


def pr_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 9_999_999:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pull request number")
    return int(text)


def pr_list(text: str) -> set[int]:
    return {pr_number(t.strip()) for t in text.split(",") if t.strip()}


def iso_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: add +00:00 or Z")
    return value


def reps(text: str) -> int:
    return _int_in(text, 1, MAX_REPS, flag="--reps")


def parts(text: str) -> tuple[int, ...]:
    chosen: list[int] = []
    for item in (t.strip() for t in text.split(",")):
        if not item.isdigit() or int(item) not in PARTS:
            raise argparse.ArgumentTypeError(
                f"--parts {text!r}: {item!r} is not a part; use a comma-separated subset of 1,2,3,4,5"
            )
        if int(item) not in chosen:
            chosen.append(int(item))
    return tuple(sorted(chosen))


def target_outdir(text: str) -> tuple[Target, Path]:
    """``ENV[/SUFFIX]=DIR``: an environment, its suffix (the rule of :func:`lib.config.resolve_target`)
    and a directory."""
    try:
        return parse_target_outdir(text)
    except ValueError as exc:  # an unknown environment, a bad suffix, no '='
        raise argparse.ArgumentTypeError(str(exc)) from None
