"""SystemStack, the base of the serverless systems' stacks: what it refuses."""

from __future__ import annotations

import pytest

from lib.config import resolve_target


def _bare_system():
    """A system stack with a foundation but no dead-letter queue and no shared layer."""
    from cdktf import App

    from lib.constructs.foundation import FoundationSpec
    from lib.stacks.base import StackContext
    from lib.stacks.system import SystemStack

    class BareSystem(SystemStack):
        foundation = FoundationSpec(service="bare", key_description="bare data ({suffix})", dlq=None)

    return BareSystem(App(), ctx=StackContext.of(resolve_target("dev", None), "iot_pipeline"))


def test_a_system_without_a_foundation_dlq_says_so_and_functions_need_a_shared_layer() -> None:
    stack = _bare_system()
    assert stack.key is stack.base.key
    with pytest.raises(ValueError, match="no dead-letter queue"):
        _ = stack.dlq
    with pytest.raises(TypeError, match="BareSystem declares no shared_layer for its functions"):
        stack.function_family(system="iot_pipeline", runtime="python3.12", memory_mb=128)
