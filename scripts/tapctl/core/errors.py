"""User-facing errors: one line naming the input and the rule."""

from __future__ import annotations


class TapError(Exception):
    """An expected failure. The CLI prints ``error: <message>`` and exits 2."""

    exit_code = 2


class StageFailed(TapError):
    """A stage ran and failed (Terraform error, failed tests). Exit code 1."""

    exit_code = 1
