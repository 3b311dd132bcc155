"""Packaging: deterministic zips, exclusions, layers and the requirements cache."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import zipfile

import pytest

from lib.constructs import packaging
from lib.constructs.packaging import (
    PackagingError,
    deterministic_zip,
    iter_package_files,
    requirement_lines,
    zip_function_code,
    zip_layer,
)


@pytest.fixture(autouse=True)
def build_cache(tmp_path, monkeypatch):
    cache = tmp_path / "build"
    monkeypatch.setenv("TAP_BUILD_DIR", str(cache))
    return cache


@pytest.fixture
def source(tmp_path):
    root = tmp_path / "fn"
    (root / "pkg").mkdir(parents=True)
    (root / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (root / "pkg" / "logic.py").write_text("X = 1\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\x00")
    (root / "tests").mkdir()
    (root / "tests" / "test_handler.py").write_text("def test(): pass\n")
    (root / "pkg" / "stale.pyc").write_bytes(b"\x00")
    return root


def names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_package_holds_code_only_sorted(source):
    built = zip_function_code(source, label="sys-fn")
    assert names(built.path.read_bytes()) == ["handler.py", "pkg/logic.py"]


def test_hashes_are_of_the_zip_bytes(source):
    built = zip_function_code(source, label="sys-fn")
    data = built.path.read_bytes()
    assert built.sha256_hex == hashlib.sha256(data).hexdigest()
    import base64

    assert built.sha256_b64 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert built.path.name == f"sys-fn-{built.sha256_hex[:16]}.zip"


def test_same_code_same_bytes_even_with_new_mtimes(source):
    first = zip_function_code(source, label="sys-fn")
    os.utime(source / "handler.py", (1_000_000_000, 1_000_000_000))
    (source / "__pycache__" / "other.pyc").write_bytes(b"\x01")
    assert zip_function_code(source, label="sys-fn").sha256_hex == first.sha256_hex


def test_changed_code_changes_the_hash(source):
    first = zip_function_code(source, label="sys-fn")
    (source / "pkg" / "logic.py").write_text("X = 2\n")
    assert zip_function_code(source, label="sys-fn").sha256_hex != first.sha256_hex


def test_zip_entries_have_fixed_metadata():
    data = deterministic_zip([("b.py", b"b"), ("a.py", b"a")])
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert [i.filename for i in infos] == ["a.py", "b.py"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o644}
    assert deterministic_zip([("a.py", b"a"), ("b.py", b"b")]) == data


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(PackagingError, match=r"package source .*nope is not a directory"):
        zip_function_code(tmp_path / "nope", label="x")


def test_empty_source_is_a_clear_error(tmp_path):
    (tmp_path / "empty" / "__pycache__").mkdir(parents=True)
    with pytest.raises(PackagingError, match=r"holds no files"):
        zip_function_code(tmp_path / "empty", label="x")


def test_iter_package_files_skips_nested_tests_dirs(source):
    (source / "pkg" / "tests").mkdir()
    (source / "pkg" / "tests" / "t.py").write_text("")
    assert [n for n, _ in iter_package_files(source)] == ["handler.py", "pkg/logic.py"]


def test_requirement_lines_drop_comments(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("# shared deps\n\nrequests==2.32.3  # http\n  \n")
    assert requirement_lines(req) == ["requests==2.32.3"]


def test_layer_without_third_party_requirements_never_calls_pip(source, tmp_path, monkeypatch):
    req = tmp_path / "requirements.txt"
    req.write_text("# boto3 ships with the Lambda runtime\n")

    def boom(*args, **kwargs):
        raise AssertionError("pip must not run")

    monkeypatch.setattr(subprocess, "run", boom)
    built = zip_layer(source, label="layer", requirements=req)
    assert names(built.path.read_bytes()) == ["python/handler.py", "python/pkg/logic.py"]


def test_layer_requirements_are_installed_once_per_hash(source, tmp_path, monkeypatch):
    req = tmp_path / "requirements.txt"
    req.write_text("tinylib==1.0\n")
    calls = []

    def fake_pip(cmd, **kwargs):
        calls.append(cmd)
        target = next(c.split("=", 1)[1] for c in cmd if c.startswith("--target="))
        os.makedirs(f"{target}/tinylib", exist_ok=True)
        with open(f"{target}/tinylib/__init__.py", "w") as fh:
            fh.write("VERSION = '1.0'\n")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(packaging.subprocess, "run", fake_pip)
    first = zip_layer(source, label="layer", requirements=req, architecture="arm64")
    second = zip_layer(source, label="layer", requirements=req, architecture="arm64")
    assert len(calls) == 1
    assert "--platform=manylinux2014_aarch64" in calls[0]
    assert "--only-binary=:all:" in calls[0]
    assert first.sha256_hex == second.sha256_hex
    assert "python/tinylib/__init__.py" in names(first.path.read_bytes())
    assert not any(n.endswith(".complete") for n in names(first.path.read_bytes()))


def test_layer_pip_failure_names_the_file(source, tmp_path, monkeypatch):
    req = tmp_path / "requirements.txt"
    req.write_text("nosuchpackage==0\n")
    monkeypatch.setattr(
        packaging.subprocess,
        "run",
        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "No matching distribution"),
    )
    with pytest.raises(
        PackagingError,
        match=r"cannot install layer requirements from .*requirements.txt.*"
        r"No matching distribution",
    ):
        zip_layer(source, label="layer", requirements=req)


def test_layer_missing_requirements_file(source, tmp_path):
    with pytest.raises(PackagingError, match=r"layer requirements file .*missing.txt does not exist"):
        zip_layer(source, label="layer", requirements=tmp_path / "missing.txt")
