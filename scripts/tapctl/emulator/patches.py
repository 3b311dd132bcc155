"""Gaps in moto that the AWS provider trips over, closed in the emulator layer.

Each patch is small, documented in docs/emulator.md, and applied only inside
the emulator process (``scripts.tapctl.emulator.server``). None of them
changes what the stacks synthesize. The patches live by service family in
:mod:`~scripts.tapctl.emulator.patches_serverless` and
:mod:`~scripts.tapctl.emulator.patches_platform`; :data:`PATCHES` is their order.
"""

from __future__ import annotations

from scripts.tapctl.emulator.patches_platform import (
    patch_ec2_referenced_rule_description,
    patch_ecs_service_attributes,
    patch_elbv2_default_scheme,
    patch_iam_managed_policies,
    patch_rds_performance_insights,
    patch_rds_unique_resource_id,
    patch_rds_user_parameters,
)
from scripts.tapctl.emulator.patches_serverless import (
    patch_docker_client_absent,
    patch_dynamodb_atomic_items,
    patch_lambda_dead_letter_config,
    patch_lambda_requires_ecr_image,
    patch_lambda_vpc_config_vpc_id,
    patch_s3_delete_marker_dispose,
    patch_s3_eventbridge_notification,
    patch_s3_policy_secure_transport,
    patch_sqs_event_source_push,
    patch_sqs_redrive_policy_compact,
    patch_stepfunctions_list_versions,
    patch_stepfunctions_validate,
)

PATCHES = [
    patch_stepfunctions_validate,
    patch_stepfunctions_list_versions,
    patch_s3_eventbridge_notification,
    patch_s3_policy_secure_transport,
    patch_lambda_requires_ecr_image,
    patch_sqs_event_source_push,
    patch_docker_client_absent,
    patch_lambda_dead_letter_config,
    patch_sqs_redrive_policy_compact,
    patch_ecs_service_attributes,
    patch_rds_user_parameters,
    patch_ec2_referenced_rule_description,
    patch_rds_performance_insights,
    patch_elbv2_default_scheme,
    patch_iam_managed_policies,
    patch_lambda_vpc_config_vpc_id,
    patch_s3_delete_marker_dispose,
    patch_rds_unique_resource_id,
    patch_dynamodb_atomic_items,
]


def apply_all() -> list[str]:
    for patch in PATCHES:
        patch()
    return [p.__name__ for p in PATCHES]
