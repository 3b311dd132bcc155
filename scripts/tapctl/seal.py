"""``scripts/tap seal`` / ``unseal``: the deploy workflow's saved plans, encrypted.

A saved plan (``tfplan``) and its ``terraform show -json`` (``plan.json``) carry the
prior state in clear text, sensitive values included (an API Gateway key, a
generated password). The deploy workflow hands them from the plan job to the
apply job (behind the approval gate) as an artifact, which anyone with read access
to the repository can download. So the plan job seals ``cdktf.out/`` into one file
with a key only the workflow has (``$TAP_PLAN_KEY``, a GitHub secret), and the apply
job unseals it before applying exactly those plans.

Format: ``TAPSEAL1`` | 16-byte scrypt salt | 12-byte nonce | AES-256-GCM ciphertext
of a ``tar.gz`` (the magic is authenticated too). A wrong key or a changed byte is
refused; nothing is written until the whole file has been authenticated, and the
archive is extracted with the ``data`` filter (no absolute paths, no ``..``, no
links out of the target).
"""

from __future__ import annotations

import io
import os
import secrets
import tarfile
from pathlib import Path

from scripts.tapctl.errors import TapError

KEY_ENV = "TAP_PLAN_KEY"
MAGIC = b"TAPSEAL1"
MIN_KEY_LENGTH = 32
#: Provider binaries (hundreds of MB) are fetched again by ``terraform init``.
SKIPPED_DIRS = frozenset({".terraform"})
_SALT, _NONCE = 16, 12


def key_from_env(env: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """The passphrase in ``$TAP_PLAN_KEY``, or an error that says how to make one."""
    key = env.get(KEY_ENV, "")
    if len(key) < MIN_KEY_LENGTH:
        state = "is not set" if not key else f"is {len(key)} characters; use at least {MIN_KEY_LENGTH}"
        raise TapError(
            f"${KEY_ENV} {state}: it encrypts the saved plans between the plan and apply jobs. "
            'Make one with `python3 -c "import secrets; print(secrets.token_urlsafe(48))"` '
            "and store it as the repository (or environment) secret TAP_PLAN_KEY"
        )
    return key


def _aes(passphrase: str, salt: bytes):  # -> AESGCM (cryptography is imported lazily)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    key = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())
    return AESGCM(key)


def _archive(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:

        def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
            return None if SKIPPED_DIRS & set(Path(info.name).parts) else info

        tar.add(folder, arcname=".", filter=keep)
    return buf.getvalue()


def seal(folder: Path, out: Path, passphrase: str) -> int:
    """Encrypt ``folder`` (without ``.terraform/``) into ``out``; return its size in bytes."""
    if not folder.is_dir():
        raise TapError(f"seal: {folder} is not a directory (run `scripts/tap plan` first)")
    salt, nonce = secrets.token_bytes(_SALT), secrets.token_bytes(_NONCE)
    sealed = MAGIC + salt + nonce + _aes(passphrase, salt).encrypt(nonce, _archive(folder), MAGIC)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(sealed)
    tmp.replace(out)  # never a half-written artifact
    return len(sealed)


def unseal(sealed: Path, into: Path, passphrase: str) -> list[str]:
    """Authenticate and decrypt ``sealed``, then extract it into ``into``; return the members."""
    from cryptography.exceptions import InvalidTag

    try:
        blob = sealed.read_bytes()
    except FileNotFoundError:
        raise TapError(f"unseal: {sealed} does not exist (was the plan artifact downloaded?)") from None
    header = len(MAGIC) + _SALT + _NONCE
    if len(blob) <= header or not blob.startswith(MAGIC):
        raise TapError(f"unseal: {sealed} is not a file written by `scripts/tap seal`")
    salt, nonce = blob[len(MAGIC) : len(MAGIC) + _SALT], blob[len(MAGIC) + _SALT : header]
    try:
        data = _aes(passphrase, salt).decrypt(nonce, blob[header:], MAGIC)
    except InvalidTag:
        raise TapError(
            f"unseal: {sealed} cannot be authenticated: ${KEY_ENV} differs from the plan job's, "
            "or the file was changed; nothing was extracted"
        ) from None
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        try:  # check every member before writing any
            checked = [tarfile.data_filter(m, str(into)) for m in members]
        except tarfile.FilterError as exc:
            raise TapError(f"unseal: {sealed} holds a member that would land outside {into}: {exc}") from None
        tar.extractall(into, members=checked, filter="fully_trusted")  # noqa: S202 -- filtered above
    return [m.name for m in checked if m.isfile()]
