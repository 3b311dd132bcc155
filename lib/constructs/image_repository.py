"""An ECR repository for one function's images: scanned, immutable, pruned."""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)
from constructs import Construct

from lib.constructs.forwarded import Forwarded


def keep_last_policy(count: int) -> str:
    """A lifecycle policy that expires all but the newest ``count`` images."""
    if not 1 <= count <= 1000:
        raise ValueError(f"image retention count {count} is outside 1-1000")
    rule = {
        "rulePriority": 1,
        "description": f"keep the newest {count} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count},
        "action": {"type": "expire"},
    }
    return json.dumps({"rules": [rule]}, separators=(",", ":"))


class ImageRepository(Construct):
    """Scan on push, ``IMMUTABLE`` tags (a tag is one digest forever), KMS
    encryption, and a lifecycle policy keeping the newest ``keep_images``.

    ``force_delete`` lets an environment be destroyed with its images; pass
    ``False`` where images must outlive a mistaken destroy.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        keep_images: int,
        kms_key_arn: str | None = None,
        force_delete: bool = True,
    ) -> None:
        super().__init__(scope, id_)
        policy = keep_last_policy(keep_images)
        self.repository = EcrRepository(
            self,
            "repository",
            name=name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=EcrRepositoryImageScanningConfiguration(scan_on_push=True),
            encryption_configuration=[
                EcrRepositoryEncryptionConfiguration(encryption_type="KMS", kms_key=kms_key_arn)
            ],
            force_delete=force_delete,
        )
        self.lifecycle = EcrLifecyclePolicy(self, "lifecycle", repository=self.repository.name, policy=policy)

    arn = Forwarded("repository", "arn")
    url = Forwarded("repository", "repository_url")
