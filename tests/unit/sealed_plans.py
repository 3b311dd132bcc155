"""What the sealed-plan tests (test_seal, test_seal_binding) check alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages import seal


def assert_unseal_refused(
    sealed: Path, into: Path, match: str, *, key: str, binding: seal.Binding
) -> TapError:
    """``unseal`` refuses with an error matching ``match`` and extracts nothing."""
    with pytest.raises(TapError, match=match) as err:
        seal.unseal(sealed, into, key, binding=binding)
    assert not into.exists(), "nothing extracted"
    return err.value
