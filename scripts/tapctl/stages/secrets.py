"""Find secrets in what the pipeline writes: synthesized JSON, plans, logs, outputs.

``scripts/tap secrets-scan [PATH ...]`` runs before anything is uploaded as an
artifact. It looks for two things:

* **known values** handed to it (``TAP_KNOWN_SECRETS``, one per line, plus the
  embedded AWS's access keys when it is running): exact matches anywhere;
* **key patterns** that are secrets whatever their value: AWS access key ids
  with a secret beside them, private keys, GitHub tokens, and literal
  passwords in synthesized Terraform.

Saved plans (``tfplan``) are zip files holding the prior state: their members
are scanned too. A finding names the file (and member) and the rule, never
the value.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: (rule name, pattern). Each pattern matches a secret regardless of context.
PATTERNS: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    (
        "AWS secret access key",
        re.compile(rb"(?i)aws_?secret_?access_?key[\"'\s:=]+[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"),
    ),
    ("private key", re.compile(rb"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----")),
    ("GitHub token", re.compile(rb"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})\b")),
    (
        "literal password in Terraform",
        re.compile(rb"\"(?:master_)?password\"\s*:\s*\"(?!\$\{)[^\"]{1,}\""),
    ),
)
#: Values shorter than this are not treated as secrets (they would match noise).
MIN_KNOWN_LENGTH = 8
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    where: str
    rule: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}"


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and ".terraform" not in p.parts)


def _blobs(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.stat().st_size > MAX_FILE_BYTES:
        return
    if zipfile.is_zipfile(path):  # saved plans and Lambda bundles
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                yield f"{path}!{member}", archive.read(member)
        return
    yield str(path), path.read_bytes()


def scan(paths: Iterable[Path], known: Iterable[str] = ()) -> list[Finding]:
    """Every finding in ``paths`` (files, directories, zip members); empty means clean."""
    values = sorted({v.encode() for v in known if len(v) >= MIN_KNOWN_LENGTH})
    findings: list[Finding] = []
    for file in _files(paths):
        for where, data in _blobs(file):
            findings.extend(Finding(where, "known secret value") for v in values if v in data)
            findings.extend(Finding(where, rule) for rule, rx in PATTERNS if rx.search(data))
    return findings


def known_values() -> list[str]:
    """Secrets this run knows: ``TAP_KNOWN_SECRETS`` and the embedded AWS's keys, if it is running."""
    from scripts.tapctl.core import emulator_process

    values = [v.strip() for v in os.environ.get("TAP_KNOWN_SECRETS", "").splitlines() if v.strip()]
    state = emulator_process.running()
    if state is not None:
        values += [c["AWS_SECRET_ACCESS_KEY"] for c in state.accounts.values()]
    return values


def gate() -> str:
    """The pipeline's check before artifacts leave the machine: raise naming every finding."""
    from scripts.tapctl.core import paths
    from scripts.tapctl.core.errors import StageFailed

    targets = [p for p in (paths.outdir(), paths.logs_dir(), paths.outputs_dir()) if p.exists()]
    findings = scan(targets, known_values())
    if findings:
        listing = "\n  ".join(map(str, findings))
        raise StageFailed(f"secrets found in pipeline files (do not upload them):\n  {listing}")
    return f"no secrets in {', '.join(map(str, targets))}"


def command(given: list[Path]) -> int:
    """``scripts/tap secrets-scan [PATH ...]``: one line per finding, exit 1 if there is any."""
    import sys

    from scripts.tapctl.core import paths, ui
    from scripts.tapctl.core.errors import TapError

    targets = given or [paths.outdir(), paths.logs_dir(), paths.outputs_dir()]
    missing = [str(p) for p in targets if not p.exists()]
    if given and missing:
        raise TapError(f"secrets-scan: no such file or directory: {', '.join(missing)}")
    findings = scan([p for p in targets if p.exists()], known_values())
    for finding in findings:
        print(f"error: secret found: {finding}", file=sys.stderr)
    if findings:
        return 1
    ui.info(f"no secrets found in {', '.join(str(p) for p in targets if p.exists())}")
    return 0
