"""Lambda packaging: deterministic zips of ``lib/lambda/<system>/<function>/``.

Handler code is zipped here, at synth time, into a content-addressed build
cache and handed to Terraform as a ``TerraformAsset`` (type FILE):

* the zip is byte-for-byte deterministic (sorted entries, fixed timestamps and
  permissions, no ``__pycache__``/``tests``/``*.pyc``), so its SHA-256 - the
  ``source_code_hash`` the function carries and the ``CodeSha256`` AWS
  reports - changes only when the code changes;
* the asset hash *is* that SHA-256, so the asset path in ``cdktf.out`` moves
  only when the code changes too.

Layers (:func:`zip_layer`, registered with :func:`as_asset`) hold code several functions share. A layer is
built from a source directory of pure-Python modules plus an optional
requirements file. Third-party requirements are installed with ``pip
--only-binary=:all:`` for the target platform into a cache keyed by the
requirements file's hash, so a synth only pays for pip when the file changes
(and stays offline once the cache is warm). The layers in this repository
need no third-party packages (``boto3`` ships with the Lambda runtime), so
their requirements files hold comments only and synth never calls pip.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
#: Runtime code lives in ``lib/lambda/<system>/<function>/``.
LAMBDA_ROOT = ROOT / "lib" / "lambda"

#: Never shipped in a package.
EXCLUDED_DIRS = frozenset({"__pycache__", "tests", ".pytest_cache", ".mypy_cache"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
#: Zip timestamps are fixed so the archive depends on content only.
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)

#: pip platform tags of each Lambda architecture.
PIP_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}


class PackagingError(ValueError):
    """A package cannot be built from its sources."""


@dataclass(frozen=True)
class BuiltZip:
    """A zip in the build cache and its hashes."""

    path: Path
    #: Hex SHA-256 of the zip bytes (the asset hash).
    sha256_hex: str
    #: Base64 SHA-256 of the zip bytes (Lambda's ``CodeSha256``/``source_code_hash``).
    sha256_b64: str


@dataclass(frozen=True)
class LambdaPackage:
    """A zip registered as a Terraform asset: what a function or layer deploys."""

    #: Path of the zip relative to the stack directory (for ``filename``).
    filename: str
    #: Base64 SHA-256 of the zip (for ``source_code_hash``).
    source_code_hash: str
    #: The zip in the local build cache (tests read it).
    local_path: Path


def build_dir() -> Path:
    """The content-addressed build cache (``$TAP_BUILD_DIR`` or ``<workdir>/build``)."""
    explicit = os.environ.get("TAP_BUILD_DIR")
    base = Path(explicit) if explicit else Path(os.environ.get("TAP_WORKDIR", ROOT / ".tap")) / "build"
    base.mkdir(parents=True, exist_ok=True)
    return base


def iter_package_files(source: Path) -> list[tuple[str, Path]]:
    """``(archive name, file)`` pairs under ``source``, sorted, exclusions applied."""
    if not source.is_dir():
        raise PackagingError(f"package source {source} is not a directory")
    found: list[tuple[str, Path]] = []
    for path in source.rglob("*"):
        rel = path.relative_to(source)
        if any(part in EXCLUDED_DIRS for part in rel.parts[:-1]) or rel.parts[0] in EXCLUDED_DIRS:
            continue
        if path.is_dir() or path.name.endswith(EXCLUDED_SUFFIXES) or path.name in EXCLUDED_DIRS:
            continue
        found.append((rel.as_posix(), path))
    found.sort(key=lambda item: item[0])
    return found


def deterministic_zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """Zip ``(name, content)`` pairs so equal content gives equal bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(entries, key=lambda item: item[0]):
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix: the same bytes on every build host
            archive.writestr(info, content, compresslevel=9)
    return buffer.getvalue()


def _store(data: bytes, label: str) -> BuiltZip:
    digest = hashlib.sha256(data)
    hex_digest = digest.hexdigest()
    path = build_dir() / f"{label}-{hex_digest[:16]}.zip"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return BuiltZip(path, hex_digest, base64.b64encode(digest.digest()).decode("ascii"))


def zip_function_code(source: Path, *, label: str) -> BuiltZip:
    """Zip a function's directory (files at the archive root)."""
    files = iter_package_files(source)
    if not files:
        raise PackagingError(f"package source {source} holds no files")
    return _store(deterministic_zip((name, path.read_bytes()) for name, path in files), label)


def requirement_lines(requirements: Path) -> list[str]:
    """The requirement specifiers of a requirements file (comments dropped)."""
    lines = []
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def _installed_requirements(requirements: Path, *, architecture: str, python_version: str) -> Path | None:
    """Install third-party requirements once per requirements hash; None if there are none."""
    specs = requirement_lines(requirements)
    if not specs:
        return None
    key = hashlib.sha256("\n".join([*specs, architecture, python_version]).encode("utf-8")).hexdigest()[:16]
    target = build_dir() / f"pip-{key}"
    if (target / ".complete").exists():
        return target
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-compile",
        "--only-binary=:all:",
        f"--platform={PIP_PLATFORMS[architecture]}",
        f"--python-version={python_version}",
        "--implementation=cp",
        f"--target={target}",
        "-r",
        str(requirements),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise PackagingError(
            f"cannot install layer requirements from {requirements} (pip exit {proc.returncode}): "
            f"{proc.stderr.strip()[-500:]}"
        )
    (target / ".complete").write_text("\n".join(specs) + "\n", encoding="utf-8")
    return target


def zip_layer(
    source: Path,
    *,
    label: str,
    requirements: Path | None = None,
    architecture: str = "arm64",
    python_version: str = "3.12",
) -> BuiltZip:
    """Zip a layer: ``source``'s files and any installed requirements under ``python/``."""
    skip = requirements.resolve() if requirements is not None else None
    entries = [
        (f"python/{name}", path.read_bytes())
        for name, path in iter_package_files(source)
        if path.resolve() != skip  # the requirements file may live beside the modules
    ]
    if requirements is not None:
        if not requirements.is_file():
            raise PackagingError(f"layer requirements file {requirements} does not exist")
        installed = _installed_requirements(
            requirements, architecture=architecture, python_version=python_version
        )
        if installed is not None:
            entries += [
                (f"python/{name}", path.read_bytes())
                for name, path in iter_package_files(installed)
                if name != ".complete"
            ]
    if not entries:
        raise PackagingError(f"layer source {source} holds no files")
    return _store(deterministic_zip(entries), label)


def as_asset(scope: Construct, id_: str, built: BuiltZip) -> LambdaPackage:
    """Register a built zip as a Terraform asset of ``scope``'s stack."""
    from cdktf import AssetType, TerraformAsset

    asset = TerraformAsset(
        scope, id_, path=str(built.path), type=AssetType.FILE, asset_hash=built.sha256_hex[:32]
    )
    return LambdaPackage(filename=asset.path, source_code_hash=built.sha256_b64, local_path=built.path)


def function_package(scope: Construct, id_: str, *, system: str, function: str) -> LambdaPackage:
    """The asset for ``lib/lambda/<system>/<function>/``."""
    built = zip_function_code(LAMBDA_ROOT / system / function, label=f"{system}-{function}")
    return as_asset(scope, id_, built)
