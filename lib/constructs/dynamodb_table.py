"""An on-demand DynamoDB table: KMS-encrypted, point-in-time recovery, typed keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from constructs import Construct

from lib.constructs.forwarded import Forwarded

KEY_TYPES = frozenset({"S", "N", "B"})


@dataclass(frozen=True)
class Index:
    """A global secondary index projecting all attributes."""

    name: str
    hash_key: str
    range_key: str | None = None


class OnDemandTable(Construct):
    """``attributes`` names the type of every key attribute (table and indexes)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        hash_key: str,
        attributes: Mapping[str, str],
        kms_key_arn: str,
        range_key: str | None = None,
        indexes: Sequence[Index] = (),
        deletion_protection: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        self.index_names = tuple(i.name for i in indexes)
        keys = [hash_key, range_key, *(i.hash_key for i in indexes), *(i.range_key for i in indexes)]
        used = {k for k in keys if k}
        missing = sorted(used - set(attributes))
        if missing:
            raise ValueError(
                f"table {name}: key attribute(s) {', '.join(missing)} have no type in attributes"
            )
        unused = sorted(set(attributes) - used)
        if unused:
            # DynamoDB rejects attribute definitions that no key uses.
            raise ValueError(
                f"table {name}: attribute(s) {', '.join(unused)} are not keys; declare only keys"
            )
        bad = sorted(f"{k}={t}" for k, t in attributes.items() if t not in KEY_TYPES)
        if bad:
            raise ValueError(f"table {name}: key types must be S, N or B, not {', '.join(bad)}")
        self.table = DynamodbTable(
            self,
            "table",
            name=name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=hash_key,
            range_key=range_key,
            attribute=[DynamodbTableAttribute(name=k, type=t) for k, t in sorted(attributes.items())],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=i.name, hash_key=i.hash_key, range_key=i.range_key, projection_type="ALL"
                )
                for i in indexes
            ]
            or None,
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=kms_key_arn),
            deletion_protection_enabled=deletion_protection,
        )

    name = Forwarded("table", "name")
    arn = Forwarded("table", "arn")

    def index_arn(self, index: str) -> str:
        if index not in self.index_names:
            raise KeyError(f"table has no index {index!r}; it has {', '.join(self.index_names) or 'none'}")
        return f"{self.table.arn}/index/{index}"
