"""A real embedded AWS for unit tests of the emulator layer: a server on a free loopback
port in a temporary work directory, clients acting in one account, stopped afterwards."""

from __future__ import annotations

import contextlib
import io
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from scripts.tapctl.core import emulator_process


def package(files: dict[str, str]) -> bytes:
    """A zip of ``files`` (name -> source, dedented): a Lambda package or layer."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, textwrap.dedent(text))
    return buffer.getvalue()


@dataclass(frozen=True)
class Emulated:
    """Clients for ``account`` on a running emulator."""

    client: Callable[[str], Any]
    port: int
    url: str


@contextlib.contextmanager
def running_emulator(work: Path, account: str, region: str) -> Iterator[Emulated]:
    mp = pytest.MonkeyPatch()
    mp.setenv("TAP_WORKDIR", str(work))
    state = emulator_process.start()
    try:
        creds = emulator_process.credentials_for(state, account)
        session = boto3.Session(
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
            region_name=region,
        )
        # StartSyncExecution's endpoint is sync-<host>: no name resolves for sync-127.0.0.1
        config = Config(inject_host_prefix=False)

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=state.url, config=config)

        yield Emulated(client=client, port=state.port, url=state.url)
    finally:
        emulator_process.stop()
        mp.undo()
