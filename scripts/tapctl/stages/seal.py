"""``scripts/tap seal`` / ``unseal``: the deploy workflow's saved plans, encrypted.

A saved plan (``tfplan``) and its ``terraform show -json`` (``plan.json``) carry the
prior state in clear text, sensitive values included (an API Gateway key, a
generated password). The deploy workflow hands them from the plan job to the
apply job (behind the approval gate) as an artifact, which anyone with read access
to the repository can download. So the plan job seals ``cdktf.out/`` into one file
with a key only the workflow has (``$TAP_PLAN_KEY``, a GitHub secret), and the apply
job unseals it before applying exactly those plans.

With one job per stack, each stack's folder is sealed on its own (``--stack``), and
the binding names the stack too: one stack's plan cannot be unsealed into another's.

Format: ``TAPSEAL2`` | 2-byte length | binding (JSON: environment, suffix, commit, stack) |
16-byte scrypt salt | 12-byte nonce | AES-256-GCM ciphertext of a ``tar.gz``. The
magic, length and binding are the associated data: a file sealed for one
environment instance and commit cannot be replayed into another environment or
run (``unseal`` names the binding that differs, and an edited binding fails
authentication). A wrong key or a changed byte is refused; nothing is written
until the whole file has been authenticated, and the archive is extracted with
the ``data`` filter (no absolute paths, no ``..``, no links out of the target).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tarfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from scripts.tapctl.core.errors import TapError

KEY_ENV = "TAP_PLAN_KEY"
MAGIC = b"TAPSEAL2"
MIN_KEY_LENGTH = 32
#: Provider binaries (hundreds of MB) are fetched again by ``terraform init``.
SKIPPED_DIRS = frozenset({".terraform"})
_SALT, _NONCE, _LENGTH = 16, 12, 2


@dataclass(frozen=True)
class Binding:
    """What a sealed file is for: one environment instance at one commit."""

    environment: str
    suffix: str
    commit: str
    #: One stack's folder (``cdktf.out/stacks/<stack>``, a deploy job per stack); "" for all of cdktf.out.
    stack: str = ""

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Binding:
        data = json.loads(raw)
        if isinstance(data, dict):
            data.setdefault("stack", "")  # sealed before bindings named a stack: all of cdktf.out
        if not isinstance(data, dict) or set(data) != {f.name for f in fields(cls)}:
            raise ValueError("not a binding")
        return cls(**{k: str(v) for k, v in data.items()})

    def differences(self, other: Binding) -> list[str]:
        """``name sealed-value != expected-value`` for each field that differs."""
        return [
            f"{f.name} {getattr(self, f.name)!r} (expected {getattr(other, f.name)!r})"
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]


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


def _header(binding: Binding) -> bytes:
    raw = binding.encode()
    return MAGIC + len(raw).to_bytes(_LENGTH, "big") + raw


def seal_bytes(data: bytes, passphrase: str, binding: Binding) -> bytes:
    """``data`` encrypted, with the header (magic and binding) as associated data."""
    salt, nonce = secrets.token_bytes(_SALT), secrets.token_bytes(_NONCE)
    header = _header(binding)
    return header + salt + nonce + _aes(passphrase, salt).encrypt(nonce, data, header)


def seal(folder: Path, out: Path, passphrase: str, *, binding: Binding) -> int:
    """Encrypt ``folder`` (without ``.terraform/``) into ``out``; return its size in bytes."""
    if not folder.is_dir():
        raise TapError(f"seal: {folder} is not a directory (run `scripts/tap plan` first)")
    sealed = seal_bytes(_archive(folder), passphrase, binding)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(sealed)
    tmp.replace(out)  # never a half-written artifact
    return len(sealed)


def _split(blob: bytes, sealed: Path) -> tuple[Binding, bytes, bytes]:
    """The binding, the header (associated data) and the rest of a sealed file."""
    start = len(MAGIC) + _LENGTH
    if blob.startswith(b"TAPSEAL1"):
        raise TapError(
            f"unseal: {sealed} was sealed without a binding (an older format): seal the plans again"
        )
    if not blob.startswith(MAGIC) or len(blob) <= start:
        raise TapError(f"unseal: {sealed} is not a file written by `scripts/tap seal`")
    end = start + int.from_bytes(blob[len(MAGIC) : start], "big")
    try:
        binding = Binding.decode(blob[start:end])
    except (ValueError, TypeError):
        raise TapError(f"unseal: {sealed} has no readable binding: it was changed") from None
    if len(blob) <= end + _SALT + _NONCE:
        raise TapError(f"unseal: {sealed} is truncated")
    return binding, blob[:end], blob[end:]


def open_sealed(blob: bytes, passphrase: str, expected: Binding, sealed: Path) -> bytes:
    """Check the binding, then authenticate and decrypt; the plaintext of a sealed file."""
    from cryptography.exceptions import InvalidTag

    binding, header, rest = _split(blob, sealed)
    differs = binding.differences(expected)
    if differs:
        raise TapError(
            f"unseal: {sealed} was sealed for another target or commit: {'; '.join(differs)}. "
            "A sealed plan is applied only to the environment instance and commit it was made for; "
            "nothing was extracted"
        )
    salt, nonce, ciphertext = rest[:_SALT], rest[_SALT : _SALT + _NONCE], rest[_SALT + _NONCE :]
    try:
        return _aes(passphrase, salt).decrypt(nonce, ciphertext, header)
    except InvalidTag:
        raise TapError(
            f"unseal: {sealed} cannot be authenticated: ${KEY_ENV} differs from the plan job's, "
            "or the file was changed; nothing was extracted"
        ) from None


def unseal(sealed: Path, into: Path, passphrase: str, *, binding: Binding) -> list[str]:
    """Check ``sealed`` is for ``binding``, authenticate and decrypt it, then extract it into
    ``into``; return the members."""
    try:
        blob = sealed.read_bytes()
    except FileNotFoundError:
        raise TapError(f"unseal: {sealed} does not exist (was the plan artifact downloaded?)") from None
    data = open_sealed(blob, passphrase, binding, sealed)
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        try:  # check every member before writing any
            checked = [tarfile.data_filter(m, str(into)) for m in members]
        except tarfile.FilterError as exc:
            raise TapError(f"unseal: {sealed} holds a member that would land outside {into}: {exc}") from None
        tar.extractall(into, members=checked, filter="fully_trusted")  # noqa: S202 -- filtered above
    return [m.name for m in checked if m.isfile()]
