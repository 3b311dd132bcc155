"""New objects under a prefix start a state machine: S3 -> EventBridge -> Step Functions.

The bucket sends its events to EventBridge (``S3BucketNotification`` with
``eventbridge = true``); one rule matches "Object Created" under ``prefix``;
its target starts the state machine as a role allowed exactly
``states:StartExecution`` on it, with ``{"bucket", "key"}`` as input.
"""

from __future__ import annotations

import json
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import (
    CloudwatchEventTarget,
    CloudwatchEventTargetInputTransformer,
)
from cdktf_cdktf_provider_aws.s3_bucket_notification import S3BucketNotification
from constructs import Construct

from lib.constructs.iam import Grant, ServiceRole

#: What the state machine receives: the object's location.
INPUT_TEMPLATE = '{"bucket": <bucket>, "key": <key>}'


def object_created_pattern(bucket: str, prefix: str) -> dict[str, Any]:
    """S3 "Object Created" events for keys under ``prefix`` of ``bucket``."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
    }


class ObjectCreatedTrigger(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        bucket_name: str,
        bucket_id: str,
        prefix: str,
        state_machine_arn: str,
        rule_name: str,
        role_name: str,
        account_id: str,
    ) -> None:
        super().__init__(scope, id_)
        if not prefix or prefix.startswith("/"):
            raise ValueError(
                f"trigger prefix {prefix!r} must be a non-empty key prefix without a leading '/'"
            )
        self.notification = S3BucketNotification(self, "eventbridge", bucket=bucket_id, eventbridge=True)
        self.rule = CloudwatchEventRule(
            self,
            "rule",
            name=rule_name,
            description=f"Objects created under {prefix} start the workflow",
            event_pattern=json.dumps(object_created_pattern(bucket_name, prefix), separators=(",", ":")),
        )
        self.role = ServiceRole(
            self,
            "role",
            name=role_name,
            service="events.amazonaws.com",
            source_account=account_id,
            description=f"EventBridge starts the workflow for new objects under {prefix}",
            grants=[Grant(actions=["states:StartExecution"], resources=[state_machine_arn])],
        )
        self.target = CloudwatchEventTarget(
            self,
            "target",
            rule=self.rule.name,
            target_id="workflow",
            arn=state_machine_arn,
            role_arn=self.role.arn,
            input_transformer=CloudwatchEventTargetInputTransformer(
                input_paths={"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
                input_template=INPUT_TEMPLATE,
            ),
        )
