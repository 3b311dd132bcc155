"""The ECR repositories of the transaction pipeline's container-image functions.

A stack of its own because images must be pushed between "the repositories
exist" and "the functions are created": ``transaction_pipeline`` depends on
this stack, and the apply step pushes its images in between (see
``scripts/tapctl/stages/images.py`` and docs/stacks/transaction_pipeline.md).
"""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from lib.config.settings.transaction_images import TransactionImagesSettings
from lib.constructs.image_repository import ImageRepository
from lib.naming import NameKind, Namer
from lib.stacks.base import StackContext, TapStack

#: function directory (lib/lambda/transaction_pipeline/<dir>) -> service name.
FUNCTIONS: dict[str, str] = {
    "csv_validator": "txn-csv-validator",
    "data_transformer": "txn-data-transformer",
    "notification_sender": "txn-notification-sender",
}


def repository_name(namer: Namer, function: str) -> str:
    """The ECR repository of ``function`` (both stacks derive it the same way)."""
    return namer.name(FUNCTIONS[function], NameKind.ECR_REPOSITORY)


def _output_prefix(function: str) -> str:
    return "Transaction" + "".join(part.capitalize() for part in function.split("_"))


class TransactionImagesStack(TapStack):
    settings: TransactionImagesSettings

    def __init__(self, scope: Construct, *, ctx: StackContext[TransactionImagesSettings]) -> None:
        super().__init__(scope, ctx=ctx)
        self.repositories: dict[str, ImageRepository] = {}
        for function in FUNCTIONS:
            repo = ImageRepository(
                self,
                f"repo-{function}",
                name=repository_name(self.namer, function),
                keep_images=self.settings.image_retention_count,
                # A protected environment keeps its images if its stack is ever destroyed.
                force_delete=self.destroyable,
            )
            self.repositories[function] = repo
            TerraformOutput(self, f"{_output_prefix(function)}RepositoryUrl", value=repo.url)
