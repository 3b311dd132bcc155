"""The logic of the local stand-ins for third-party actions (``tools/act/stand-ins``).

``scripts/tap simulate`` runs the real workflow files through act on this
machine; every SHA-pinned ``uses:`` resolves to a composite action in
``tools/act/stand-ins/<owner>/<name>`` whose one step calls
``python -m scripts.tapctl.gitops.act.standins <verb>``. Inputs arrive as
``INPUT_*`` variables (as GitHub passes them to JavaScript actions), outputs
and exported variables go to ``$GITHUB_OUTPUT`` / ``$GITHUB_ENV``, and a
refusal is an ``::error::`` line with exit code 1, so the step fails the way
the real action's would. The simulation passes its own state through
``TAP_ACT_*`` variables (see :mod:`scripts.tapctl.gitops.act.runner`).
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from scripts.tapctl.gitops.act import oidc
from scripts.tapctl.gitops.act.github_fake import Client


class StandInError(Exception):
    """The real action would fail the step with this message."""


def _input(name: str, default: str = "") -> str:
    return os.environ.get(f"INPUT_{name.upper().replace('-', '_')}", default).strip()


def _flag(name: str, default: bool = False) -> bool:
    return _input(name, "true" if default else "false").lower() == "true"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _write_file_command(variable: str, values: dict[str, str]) -> None:
    """Append ``values`` to ``$GITHUB_OUTPUT``/``$GITHUB_ENV`` with a random delimiter each."""
    target = os.environ.get(variable)
    if not target:
        return
    with open(target, "a", encoding="utf-8") as fh:
        for key, value in values.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            fh.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")


def set_outputs(**values: str) -> None:
    _write_file_command("GITHUB_OUTPUT", values)


def export(values: dict[str, str]) -> None:
    _write_file_command("GITHUB_ENV", values)


def workspace() -> Path:
    return Path(os.environ.get("GITHUB_WORKSPACE", os.getcwd()))


def artifacts_root() -> Path:
    root = os.environ.get("TAP_ACT_ARTIFACTS")
    if not root:
        raise StandInError("TAP_ACT_ARTIFACTS is not set: run the workflow with `scripts/tap simulate`")
    return Path(root)


# -- setup-python / setup-terraform: the host's tools, checked -------------------------------


def _version_matches(asked: str, found: str) -> bool:
    """``3.11`` matches 3.11.7; ``1.11.4`` matches only 1.11.4; ``3.x``/``>=`` forms are refused."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", asked):
        raise StandInError(
            f"version {asked!r}: the local stand-in understands only exact versions (3.11, 1.11.4)"
        )
    return found == asked or found.startswith(asked + ".")


def setup_python() -> None:
    asked = _input("python-version")
    found = ".".join(str(p) for p in sys.version_info[:3])
    host = shutil.which("python3") or sys.executable
    out = subprocess.run(
        [host, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = out.stdout.strip() or found
    if asked and not _version_matches(asked, found):
        raise StandInError(f"python-version {asked} was asked for; this host's python3 is {found}")
    print(f"setup-python (local): using the host's Python {found} ({host})")
    set_outputs(**{"python-version": found, "python-path": host})


def setup_terraform() -> None:
    asked = _input("terraform_version")
    binary = shutil.which("terraform")
    if binary is None:
        raise StandInError("terraform is not on PATH: install the version the workflow asks for")
    out = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, check=False)
    try:
        found = json.loads(out.stdout)["terraform_version"]
    except (ValueError, KeyError):
        raise StandInError(f"`{binary} version -json` did not answer: {out.stderr.strip()}") from None
    if asked and not _version_matches(asked, found):
        raise StandInError(f"terraform_version {asked} was asked for; this host has {found} ({binary})")
    if _input("terraform_wrapper", "true").lower() != "false":
        print("::warning::terraform_wrapper is on: the real wrapper rewrites stdout of captured plans")
    print(f"setup-terraform (local): using the host's Terraform {found} ({binary})")


# -- checkout: act copies the work tree itself, except for a checkout with `ref:` --------------


def checkout() -> None:
    """Fill an empty workspace with the branch ``ref`` of the repository, if it exists
    locally (``git archive``), else with the work tree (tracked and untracked, not ignored)."""
    ws, root = workspace(), Path(os.environ["TAP_ACT_ROOT"])
    if any(ws.iterdir()):
        print("checkout (local): act copied the work tree into the workspace")
        return
    ref = _input("ref")
    git = ["git", "-C", str(root)]
    if (
        ref
        and subprocess.run(
            [*git, "rev-parse", "--verify", "--quiet", f"refs/heads/{ref}"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        archive = subprocess.run([*git, "archive", f"refs/heads/{ref}"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(ws)], input=archive.stdout, check=True)
        print(f"checkout (local): branch {ref} of {root}")
        return
    listed = (
        subprocess.run(
            [*git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = root / name
        if source.is_file():
            (ws / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, ws / name)
    note = f" (no local branch {ref!r}: the work tree as it is)" if ref else ""
    print(f"checkout (local): the work tree of {root}{note}")


# -- cache: a self-hosted runner keeps its files ------------------------------------------------


def cache() -> None:
    paths = [Path(os.path.expanduser(p)) for p in _lines(_input("path"))]
    key = _input("key")
    if not paths or not key:
        raise StandInError("cache needs `path` and `key`")
    hit = all(p.exists() for p in paths)
    print(
        f"cache (local): key {key}; the host keeps {', '.join(map(str, paths))}: {'hit' if hit else 'miss'}"
    )
    set_outputs(**{"cache-hit": "true" if hit else "false"})


# -- artifacts -----------------------------------------------------------------------------------


def _glob(base: Path, pattern: str, hidden: bool) -> list[Path]:
    """Files a search path names: a file, every file below a folder, or a glob's matches."""
    full = os.path.expanduser(pattern)
    full = full if os.path.isabs(full) else str(base / full)
    files: list[Path] = []
    for match in map(Path, glob.glob(full, recursive=True)):
        files += [f for f in match.rglob("*") if f.is_file()] if match.is_dir() else [match]
    if not hidden:
        files = [f for f in files if not any(p.startswith(".") for p in f.parts[len(base.parts) :])]
    return files


def _search_root(patterns: Iterable[str], base: Path) -> Path:
    """upload-artifact stores paths relative to the least common ancestor of the search
    roots: a folder itself, a file's parent, a glob's literal prefix."""
    roots = []
    for pattern in patterns:
        full = Path(os.path.expanduser(pattern))
        full = full if full.is_absolute() else base / full
        literal: list[str] = []
        for part in full.parts:
            if any(ch in part for ch in "*?["):
                break
            literal.append(part)
        root = Path(*literal)
        if len(literal) == len(full.parts) and not root.is_dir():
            root = root.parent
        roots.append(str(root))
    return Path(os.path.commonpath(roots))


def upload_artifact() -> None:
    name = _input("name", "artifact")
    if not name or re.search(r'[":<>|*?\\/\r\n]', name):
        raise StandInError(f"artifact name {name!r} is not valid")
    base = workspace()
    patterns = _lines(_input("path"))
    include = [p for p in patterns if not p.startswith("!")]
    exclude = [p[1:] for p in patterns if p.startswith("!")]
    hidden = _flag("include-hidden-files")
    files = {f for p in include for f in _glob(base, p, hidden)}
    files -= {f for p in exclude for f in _glob(base, p, True)}
    if not files:
        mode = _input("if-no-files-found", "warn")
        found = " ".join(patterns)
        message = f"No files were found with the provided path: {found}. No artifacts will be uploaded."
        if mode == "error":
            raise StandInError(message)
        print(f"::warning::{message}" if mode == "warn" else message)
        return
    target = artifacts_root() / name
    if target.exists():
        if not _flag("overwrite"):
            raise StandInError(
                "Failed to CreateArtifact: an artifact with this name already exists on the workflow run: "
                + name
            )
        shutil.rmtree(target)
    root = _search_root(include, base)
    for file in sorted(files):
        dest = target / file.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, dest)
    print(f"upload-artifact (local): {len(files)} file(s) from {root} as {name!r}")


def download_artifact() -> None:
    name, pattern = _input("name"), _input("pattern")
    dest = Path(os.path.expanduser(_input("path") or "."))
    dest = dest if dest.is_absolute() else workspace() / dest
    root = artifacts_root()
    available = sorted(p.name for p in root.iterdir()) if root.exists() else []
    if name:
        if name not in available:
            raise StandInError(f"Unable to download artifact(s): Artifact not found for name: {name}")
        shutil.copytree(root / name, dest, dirs_exist_ok=True)
        print(f"download-artifact (local): {name!r} into {dest}")
        return
    chosen = [a for a in available if not pattern or fnmatch.fnmatch(a, pattern)]
    for artifact in chosen:
        into = dest if _flag("merge-multiple") else dest / artifact
        shutil.copytree(root / artifact, into, dirs_exist_ok=True)
    print(f"download-artifact (local): {len(chosen)} artifact(s) {chosen} into {dest}")


# -- sticky pull request comment ----------------------------------------------------------------


def sticky_comment() -> None:
    event = json.loads(Path(os.environ["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    if not number:
        raise StandInError("sticky-pull-request-comment: this event has no pull request number")
    body = _input("message")
    if _input("path"):
        path = Path(_input("path"))
        path = path if path.is_absolute() else workspace() / path
        if not path.is_file():
            raise StandInError(f"sticky-pull-request-comment: {path} does not exist")
        body = path.read_text(encoding="utf-8")
    marker = f"<!-- Sticky Pull Request Comment{_input('header')} -->"
    client = Client.from_env(token=_input("GITHUB_TOKEN"))
    repo = os.environ["GITHUB_REPOSITORY"]
    existing = [c for c in client.get(f"/repos/{repo}/issues/{number}/comments") if marker in c["body"]]
    text = f"{body}\n{marker}"
    if existing and not _flag("recreate"):
        client.request("PATCH", f"/repos/{repo}/issues/comments/{existing[0]['id']}", {"body": text})
        print(f"sticky comment (local): updated comment {existing[0]['id']} on #{number}")
        return
    for old in existing:
        client.request("DELETE", f"/repos/{repo}/issues/comments/{old['id']}")
    created = client.request("POST", f"/repos/{repo}/issues/{number}/comments", {"body": text})
    print(f"sticky comment (local): created comment {created['id']} on #{number}")


# -- AWS credentials ------------------------------------------------------------------------------


def configure_aws_credentials() -> None:
    event = json.loads(Path(os.environ["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
    grant = oidc.assume(
        role_arn=_input("role-to-assume"),
        region=_input("aws-region"),
        event_name=os.environ.get("GITHUB_EVENT_NAME", ""),
        event=event,
        # The token's ref is the event's (a schedule runs on the default branch), not the
        # branch act happens to run from: act sets GITHUB_REF to the local checkout's.
        ref=event.get("ref") or os.environ.get("GITHUB_REF", ""),
        repository=os.environ.get("GITHUB_REPOSITORY", ""),
        job=os.environ.get("GITHUB_JOB", ""),
    )
    allowed = [a.strip() for a in _input("allowed-account-ids").split(",") if a.strip()]
    if allowed and grant.account_id not in allowed:
        raise StandInError(f"account {grant.account_id} is not in allowed-account-ids {allowed}")
    export(grant.environment)
    set_outputs(**{"aws-account-id": grant.account_id})
    print(f"configure-aws-credentials (local): {grant.role_arn} for {grant.subject} in {grant.region}")


VERBS: dict[str, Callable[[], None]] = {
    "checkout": checkout,
    "setup-python": setup_python,
    "setup-terraform": setup_terraform,
    "cache": cache,
    "upload-artifact": upload_artifact,
    "download-artifact": download_artifact,
    "sticky-comment": sticky_comment,
    "configure-aws-credentials": configure_aws_credentials,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in VERBS:
        print(f"usage: python -m scripts.tapctl.gitops.act.standins {{{','.join(VERBS)}}}", file=sys.stderr)
        return 2
    try:
        VERBS[argv[0]]()
    except (StandInError, oidc.Refused) as exc:
        print(f"::error::{exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
