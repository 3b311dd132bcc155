"""The stack registry: environment-file stack name -> (stack class, settings model).

The one place a stack name is tied to its code: the environment model validates
``settings.<name>`` against :attr:`StackEntry.settings` when an environment
loads, and :func:`lib.app.build_app` builds :meth:`StackEntry.stack_class`.

Stack classes are imported lazily: loading the provider bindings costs ~12 s, so
only synth pays it, never the CLI's validation or the unit tests that do not
synthesize. The settings models are plain pydantic and imported here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lib.config.settings.base import StackSettings
from lib.config.settings.data_pipeline import DataPipelineSettings
from lib.config.settings.file_processing import FileProcessingSettings
from lib.config.settings.iot_pipeline import IotPipelineSettings
from lib.config.settings.platform import PlatformSettings
from lib.config.settings.transaction_images import TransactionImagesSettings
from lib.config.settings.transaction_pipeline import TransactionPipelineSettings

if TYPE_CHECKING:
    from lib.config import Target
    from lib.stacks.base import TapStack


@dataclass(frozen=True)
class StackEntry:
    """One deployable stack: its settings model and where its class lives."""

    #: Validates ``settings.<name>`` of the environment files; the stack receives an instance.
    settings: type[StackSettings]
    #: ``"module:Class"`` of the :class:`~lib.stacks.base.TapStack` subclass.
    stack: str

    def stack_class(self) -> type[TapStack]:
        module, _, cls = self.stack.partition(":")
        return getattr(importlib.import_module(module), cls)


#: stack name (the key in ``stacks:`` and ``settings:`` of environments/*.yaml) -> entry
STACKS: dict[str, StackEntry] = {
    "platform": StackEntry(PlatformSettings, "lib.stacks.platform:PlatformStack"),
    "transaction_images": StackEntry(
        TransactionImagesSettings, "lib.stacks.transaction_images:TransactionImagesStack"
    ),
    "transaction_pipeline": StackEntry(
        TransactionPipelineSettings, "lib.stacks.transaction_pipeline:TransactionPipelineStack"
    ),
    "file_processing": StackEntry(FileProcessingSettings, "lib.stacks.file_processing:FileProcessingStack"),
    "iot_pipeline": StackEntry(IotPipelineSettings, "lib.stacks.iot_pipeline:IotPipelineStack"),
    "data_pipeline": StackEntry(DataPipelineSettings, "lib.stacks.data_pipeline:DataPipelineStack"),
}


def stack_class(name: str) -> type[TapStack]:
    return STACKS[name].stack_class()


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
