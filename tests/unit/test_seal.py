"""Saved plans cross from the plan job to the apply job only sealed (scripts/tapctl/stages/seal.py)."""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from pathlib import Path

import pytest

from scripts.tapctl import cli
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages import seal
from tests.unit.sealed_plans import assert_unseal_refused

KEY = "k" * 40
BOUND = seal.Binding(environment="staging", suffix="staging", commit="c0ffee" * 6 + "abcd")


def _plans(root: Path) -> Path:
    out = root / "cdktf.out"
    stack = out / "stacks" / "platform"
    (stack / ".terraform" / "providers").mkdir(parents=True)
    (stack / ".terraform" / "providers" / "terraform-provider-aws").write_bytes(b"\0" * 1000)
    (stack / "tfplan").write_bytes(secrets.token_bytes(500))
    (stack / "plan.json").write_text('{"prior_state": {"value": "api-key-in-clear"}}')
    (stack / ".terraform.lock.hcl").write_text("# lock")
    (out / "plan-summary.json").write_text("{}")
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_round_trip_restores_the_plans_without_provider_binaries(tmp_path):
    out = _plans(tmp_path)
    sealed = tmp_path / "plan.sealed"
    seal.seal(out, sealed, KEY, binding=BOUND)
    blob = sealed.read_bytes()
    assert blob.startswith(seal.MAGIC)
    assert b"api-key-in-clear" not in blob
    assert b"prior_state" not in blob
    names = seal.unseal(sealed, tmp_path / "restored", KEY, binding=BOUND)
    restored = _files(tmp_path / "restored")
    expected = {k: v for k, v in _files(out).items() if "/.terraform/" not in f"/{k}"}
    assert restored == expected
    assert "stacks/platform/.terraform.lock.hcl" in restored, "the lock file goes along, the providers do not"
    assert sorted(n.removeprefix("./") for n in names) == sorted(expected)


def test_each_seal_is_different_even_for_the_same_input(tmp_path):
    out = _plans(tmp_path)
    seal.seal(out, tmp_path / "a", KEY, binding=BOUND)
    seal.seal(out, tmp_path / "b", KEY, binding=BOUND)
    h = len(seal.MAGIC) + 2 + len(BOUND.encode())  # magic, length, binding
    assert (tmp_path / "a").read_bytes()[:h] == (tmp_path / "b").read_bytes()[:h]
    assert (tmp_path / "a").read_bytes()[h : h + 28] != (tmp_path / "b").read_bytes()[h : h + 28], (
        "fresh salt, nonce"
    )


def test_wrong_key_is_refused_and_nothing_is_extracted(tmp_path):
    sealed = tmp_path / "plan.sealed"
    seal.seal(_plans(tmp_path), sealed, KEY, binding=BOUND)
    match = r"cannot be authenticated: \$TAP_PLAN_KEY differs"
    assert_unseal_refused(sealed, tmp_path / "x", match, key="w" * 40, binding=BOUND)


def test_a_changed_byte_is_refused(tmp_path):
    sealed = tmp_path / "plan.sealed"
    seal.seal(_plans(tmp_path), sealed, KEY, binding=BOUND)
    blob = bytearray(sealed.read_bytes())
    blob[-20] ^= 1
    sealed.write_bytes(bytes(blob))
    match = "or the file was changed; nothing was extracted"
    assert_unseal_refused(sealed, tmp_path / "x", match, key=KEY, binding=BOUND)


def test_not_a_sealed_file_and_missing_file(tmp_path):
    other = tmp_path / "plain.tar.gz"
    other.write_bytes(b"\x1f\x8b" + b"0" * 100)
    match = "is not a file written by `scripts/tap seal`"
    assert_unseal_refused(other, tmp_path / "x", match, key=KEY, binding=BOUND)
    assert_unseal_refused(tmp_path / "nope", tmp_path / "x", "does not exist", key=KEY, binding=BOUND)
    with pytest.raises(TapError, match="is not a directory"):
        seal.seal(tmp_path / "nope", tmp_path / "s", KEY, binding=BOUND)


def test_a_member_outside_the_target_is_refused_before_writing(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("ok.txt", "../escaped.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"hi"))
    sealed = tmp_path / "evil.sealed"
    sealed.write_bytes(seal.seal_bytes(buf.getvalue(), KEY, BOUND))
    with pytest.raises(TapError, match="would land outside"):
        seal.unseal(sealed, tmp_path / "into", KEY, binding=BOUND)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "into" / "ok.txt").exists(), "nothing written when one member is bad"


@pytest.mark.parametrize(
    ("value", "message"),
    [(None, r"\$TAP_PLAN_KEY is not set"), ("short", r"\$TAP_PLAN_KEY is 5 characters; use at least 32")],
)
def test_the_key_must_be_set_and_long(value, message):
    env = {} if value is None else {"TAP_PLAN_KEY": value}
    with pytest.raises(TapError, match=message):
        seal.key_from_env(env)
    assert seal.key_from_env({"TAP_PLAN_KEY": KEY}) == KEY


def test_cli_seal_and_unseal(tmp_path, monkeypatch, capsys):
    out = _plans(tmp_path)
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "restored"))
    monkeypatch.setenv("TAP_PLAN_KEY", KEY)
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("TAP_COMMIT", BOUND.commit)
    assert cli.main(["seal", str(out), "--out", str(tmp_path / "p.sealed")]) == 0
    assert cli.main(["unseal", str(tmp_path / "p.sealed")]) == 0  # into $CDKTF_OUTDIR
    assert (tmp_path / "restored" / "stacks" / "platform" / "tfplan").read_bytes() == (
        out / "stacks" / "platform" / "tfplan"
    ).read_bytes()
    monkeypatch.setenv("TAP_PLAN_KEY", "x" * 32)
    assert cli.main(["unseal", str(tmp_path / "p.sealed"), "--into", str(tmp_path / "y")]) == 2
    assert "cannot be authenticated" in capsys.readouterr().err


def test_one_stack_sealed_alone_unseals_only_as_that_stack(tmp_path, monkeypatch, capsys):
    out = _plans(tmp_path)
    monkeypatch.setenv("CDKTF_OUTDIR", str(out))
    monkeypatch.setenv("TAP_PLAN_KEY", KEY)
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("TAP_COMMIT", BOUND.commit)
    sealed = tmp_path / "platform.sealed"
    assert cli.main(["seal", "--stack", "platform", "--out", str(sealed)]) == 0
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "apply-job"))
    assert cli.main(["unseal", str(sealed), "--stack", "iot_pipeline"]) == 2
    assert "stack 'platform' (expected 'iot_pipeline')" in capsys.readouterr().err
    assert not (tmp_path / "apply-job").exists(), "nothing extracted"
    assert cli.main(["unseal", str(sealed), "--stack", "platform"]) == 0
    restored = tmp_path / "apply-job" / "stacks" / "platform"
    assert (restored / "tfplan").read_bytes() == (out / "stacks" / "platform" / "tfplan").read_bytes()
    assert not (restored / ".terraform").exists()
    assert cli.main(["seal", "--stack", "nope", "--out", str(sealed)]) == 2
    assert "--stack 'nope': not a stack of staging" in capsys.readouterr().err


def test_a_file_sealed_before_bindings_named_a_stack_is_for_all_of_cdktf_out(tmp_path):
    legacy = json.dumps({"environment": "staging", "suffix": "staging", "commit": "c"}).encode()
    assert seal.Binding.decode(legacy) == seal.Binding("staging", "staging", "c", "")
