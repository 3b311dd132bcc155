"""The pipeline's canary: a bucket and a table, the cheapest stack that proves the path.

The CLI's end-to-end and fault tests deploy it on the embedded AWS (seconds,
not minutes); it is built from the same constructs as the system stacks, so
it passes the same security gates.
"""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from lib.constructs.dynamodb_table import OnDemandTable
from lib.constructs.kms import StackKey
from lib.constructs.secure_bucket import SecureBucket
from lib.naming import NameKind
from lib.stacks.base import StackContext, TapStack


class SmokeStack(TapStack):
    def __init__(self, scope: Construct, *, ctx: StackContext) -> None:
        super().__init__(scope, ctx=ctx)
        key = StackKey(
            self, "key", namer=self.namer, service="smoke", description=f"smoke canary ({ctx.suffix})"
        )
        bucket = SecureBucket(
            self,
            "bucket",
            name=self.namer.bucket("smoke"),
            kms_key_arn=key.key.arn,
            noncurrent_expiration_days=7,
        )
        table = OnDemandTable(
            self,
            "table",
            name=self.namer.name("smoke", NameKind.DYNAMODB_TABLE),
            hash_key="pk",
            attributes={"pk": "S"},
            kms_key_arn=key.key.arn,
        )
        TerraformOutput(self, "SmokeBucketName", value=bucket.bucket.bucket)
        TerraformOutput(self, "SmokeTableName", value=table.table.name)
