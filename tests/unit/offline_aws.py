"""AWS for a unit test: moto in-process, fake credentials, no endpoint or profile of the caller's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from moto import mock_aws


@contextmanager
def mocked_aws(
    monkeypatch: pytest.MonkeyPatch, *, region: str = "us-east-1", unset: tuple[str, ...] = (), **env: str
) -> Iterator[None]:
    """moto's AWS in ``region``; ``unset`` and the caller's endpoint/profile removed, ``env`` set."""
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", *unset):
        monkeypatch.delenv(var, raising=False)
    settings = {
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    for var, value in {**settings, **env}.items():
        monkeypatch.setenv(var, value)
    with mock_aws():
        yield
