"""argparse types: each refuses a bad value while parsing, naming the value and the rule."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime

from scripts.tapctl.bench.command import MAX_REPS, PARTS


def positive(text: str) -> int:
    """A number of stacks (or peer processes) at once: 1-64."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1-64")
    return value


def workers(text: str) -> str:
    """pytest-xdist's ``-n``: ``auto``, ``logical`` or 0-64 (0 = serial)."""
    if text in ("auto", "logical"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not auto, logical or a number of workers") from None
    if not 0 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 0-64 (0 runs the tests serially)")
    return str(value)


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1024 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 1024-65535")
    return value


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
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--reps {text!r} is not an integer") from None
    if not 1 <= value <= MAX_REPS:
        raise argparse.ArgumentTypeError(f"--reps {value} is out of range: use 1-{MAX_REPS}")
    return value


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
