"""Stack registry: environment-file stack names -> stack classes.

Imports are lazy: loading the provider bindings costs ~12 s, so only synth
pays it, never the CLI's validation or the unit tests that do not synthesize.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lib.config import Target
    from lib.stacks.base import TapStack

#: stack name -> "module:Class"
STACK_CLASSES: dict[str, str] = {
    "platform": "lib.stacks.platform:PlatformStack",
    "transaction_images": "lib.stacks.transaction_images:TransactionImagesStack",
    "transaction_pipeline": "lib.stacks.transaction_pipeline:TransactionPipelineStack",
    "file_processing": "lib.stacks.file_processing:FileProcessingStack",
    "iot_pipeline": "lib.stacks.iot_pipeline:IotPipelineStack",
    "data_pipeline": "lib.stacks.data_pipeline:DataPipelineStack",
}


def stack_class(name: str) -> type[TapStack]:
    module, _, cls = STACK_CLASSES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def select_stacks(target: Target, only: str | None) -> list[str]:
    """The environment's stacks, or the comma-separated subset ``only``."""
    if not only:
        return list(target.env.stacks)
    wanted = [s.strip() for s in only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in target.env.stacks]
    if unknown:
        raise ValueError(
            f"stack(s) {', '.join(unknown)} not in environment {target.env.name!r}; "
            f"it deploys: {', '.join(target.env.stacks)}"
        )
    return [s for s in target.env.stacks if s in wanted]
