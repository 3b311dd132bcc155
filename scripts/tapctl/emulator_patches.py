"""Gaps in moto that the AWS provider trips over, closed in the emulator layer.

Each patch is small, documented in docs/emulator.md, and applied only inside
the emulator process (``scripts.tapctl.emulator_server``). None of them
changes what the stacks synthesize.
"""

from __future__ import annotations

import json
from typing import Any


def _validate_definition(definition: str) -> list[dict[str, str]]:
    """A structural subset of Amazon States Language validation."""
    diagnostics: list[dict[str, str]] = []

    def error(code: str, message: str, location: str) -> None:
        diagnostics.append({"severity": "ERROR", "code": code, "message": message, "location": location})

    try:
        doc = json.loads(definition)
    except (TypeError, ValueError) as exc:
        error("INVALID_JSON_DESCRIPTION", f"definition is not valid JSON: {exc}", "/")
        return diagnostics
    if not isinstance(doc, dict):
        error("SCHEMA_VALIDATION_FAILED", "definition must be an object", "/")
        return diagnostics

    def check_machine(machine: dict[str, Any], where: str) -> None:
        states = machine.get("States")
        if not isinstance(states, dict) or not states:
            error("SCHEMA_VALIDATION_FAILED", "States must be a non-empty object", f"{where}/States")
            return
        if machine.get("StartAt") not in states:
            error("MISSING_TRANSITION_TARGET", "StartAt names no state", f"{where}/StartAt")
        for name, state in states.items():
            loc = f"{where}/States/{name}"
            if not isinstance(state, dict) or "Type" not in state:
                error("SCHEMA_VALIDATION_FAILED", "a state needs a Type", loc)
                continue
            targets = [state.get("Next"), state.get("Default")]
            targets += [c.get("Next") for c in state.get("Choices", []) if isinstance(c, dict)]
            targets += [c.get("Next") for c in state.get("Catch", []) if isinstance(c, dict)]
            for target in targets:
                if target is not None and target not in states:
                    error("MISSING_TRANSITION_TARGET", f"transition to unknown state {target!r}", loc)
            if state["Type"] not in ("Succeed", "Fail", "Choice") and not (
                state.get("End") is True or "Next" in state
            ):
                error("SCHEMA_VALIDATION_FAILED", "a state needs Next or End", loc)
            for i, branch in enumerate(state.get("Branches", [])):
                check_machine(branch, f"{loc}/Branches/{i}")
            for key in ("Iterator", "ItemProcessor"):
                if isinstance(state.get(key), dict):
                    check_machine(state[key], f"{loc}/{key}")

    check_machine(doc, "")
    return diagnostics


def patch_stepfunctions_validate() -> None:
    """moto 5.2.5 lacks ``ValidateStateMachineDefinition``; the provider calls it
    at plan time and fails on the resulting HTTP 500."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def validate_state_machine_definition(self: StepFunctionResponse) -> ActionResult:
        diagnostics = _validate_definition(self._get_param("definition"))
        return ActionResult({"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics})

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition  # type: ignore[attr-defined]


#: ECS CreateService parameters moto 5.2.5 drops; the provider reads them back.
ECS_SERVICE_REMEMBERED = (
    "availabilityZoneRebalancing",
    "enableECSManagedTags",
    "healthCheckGracePeriodSeconds",
)


def patch_ecs_service_attributes() -> None:
    """moto's ``CreateService`` ignores ``availabilityZoneRebalancing``,
    ``enableECSManagedTags`` and ``healthCheckGracePeriodSeconds``, so
    ``DescribeServices`` omits them and every plan after apply shows a diff on
    ``aws_ecs_service``. Remember what was sent and return it (``UpdateService``
    already stores them under the same attribute names)."""
    from botocore import xform_name
    from moto.ecs.responses import EC2ContainerServiceResponse

    original = EC2ContainerServiceResponse.create_service

    def create_service(self: EC2ContainerServiceResponse) -> Any:
        result = original(self)
        service = self.ecs_backend._get_service(
            self._get_param("cluster", "default"), self._get_param("serviceName")
        )
        for key in ECS_SERVICE_REMEMBERED:
            value = self._get_param(key)
            if value is not None:
                setattr(service, xform_name(key), value)
        return result

    EC2ContainerServiceResponse.create_service = create_service  # type: ignore[method-assign]


def patch_rds_user_parameters() -> None:
    """moto's ``ModifyDBParameterGroup`` stores parameters without ``Source``;
    AWS marks them ``user``. The provider keeps only parameters with a Source,
    so a parameter group with parameters never converged."""
    from moto.rds.models import DBParameterGroup

    original = DBParameterGroup.update_parameters

    def update_parameters(self: DBParameterGroup, new_parameters: Any) -> None:
        new_parameters = list(new_parameters)
        original(self, new_parameters)
        for new in new_parameters:
            self.parameters[new["ParameterName"]].setdefault("Source", "user")

    DBParameterGroup.update_parameters = update_parameters  # type: ignore[method-assign]


def patch_ec2_referenced_rule_description() -> None:
    """A security group rule that references another group keeps its
    description in the group pair, but moto's ``DescribeSecurityGroupRules``
    reads it only from the CIDR range: ``aws_vpc_security_group_*_rule`` with
    ``referenced_security_group_id`` and a description never converged."""
    from moto.ec2.models.security_groups import SecurityGroupRule

    def description(self: SecurityGroupRule) -> str | None:
        return self.ip_range.get("Description") or self.source_group.get("Description")

    SecurityGroupRule.description = property(description)  # type: ignore[assignment,method-assign]


#: AWS managed policies the CI roles of the OIDC bootstrap attach (lib/config/settings/github_oidc.py).
IAM_MANAGED_POLICIES = ("ReadOnlyAccess", "PowerUserAccess")


def patch_iam_managed_policies() -> None:
    """moto loads AWS managed policies only with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``,
    and then all ~1,300 into every account's IAM backend (slow). Without them,
    attaching ``arn:aws:iam::aws:policy/ReadOnlyAccess`` fails with NoSuchEntity.
    Load just the ones the bootstrap attaches."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, IAMBackend

    original = IAMBackend._init_aws_policies

    def _init_aws_policies(self: IAMBackend) -> list[Any]:
        loaded = original(self)
        if loaded:
            return loaded
        data = json.loads(aws_managed_policies_data)
        return [
            AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data[name])
            for name in IAM_MANAGED_POLICIES
        ]

    IAMBackend._init_aws_policies = _init_aws_policies  # type: ignore[method-assign]


PATCHES = [
    patch_stepfunctions_validate,
    patch_ecs_service_attributes,
    patch_rds_user_parameters,
    patch_ec2_referenced_rule_description,
    patch_iam_managed_policies,
]


def apply_all() -> list[str]:
    for patch in PATCHES:
        patch()
    return [p.__name__ for p in PATCHES]
