"""Gap patches for the platform's services: ECS, RDS, ELBv2, EC2 security groups, IAM.

Each makes the provider's second plan after an apply show no changes (moto drops or
misreports an attribute the provider reads back), or lets an apply succeed at all.
Listed in docs/emulator.md; applied by :func:`scripts.tapctl.emulator.patches.apply_all`.
"""

from __future__ import annotations

import json
from typing import Any

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


#: RDS CreateDBInstance parameters moto 5.2.5 accepts but does not keep:
#: request parameter (snake case) -> the DescribeDBInstances attribute.
RDS_INSTANCE_REMEMBERED = {
    "enable_performance_insights": "performance_insights_enabled",
    "performance_insights_kms_key_id": "performance_insights_kms_key_id",
    "performance_insights_retention_period": "performance_insights_retention_period",
}


def patch_rds_performance_insights() -> None:
    """moto's ``DBInstance`` drops ``EnablePerformanceInsights`` of
    ``CreateDBInstance`` (``ModifyDBInstance`` keeps it), so
    ``DescribeDBInstances`` reports it off and ``aws_db_instance`` with
    ``performance_insights_enabled`` never converged. Keep what was sent."""
    from moto.rds.models import DBInstance

    original = DBInstance.__init__

    def __init__(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for param, attribute in RDS_INSTANCE_REMEMBERED.items():
            if kwargs.get(param) is not None:
                setattr(self, attribute, kwargs[param])

    DBInstance.__init__ = __init__  # type: ignore[method-assign]


def patch_elbv2_default_scheme() -> None:
    """``CreateLoadBalancer`` without ``Scheme`` (the provider omits it unless
    ``internal = true``) is internet-facing on AWS; moto 5.2.5 passes ``None``
    over its own default, so ``DescribeLoadBalancers`` had no ``Scheme``."""
    from moto.elbv2.models import ELBv2Backend

    original = ELBv2Backend.create_load_balancer

    def create_load_balancer(self: ELBv2Backend, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("scheme") is None:
            kwargs["scheme"] = "internet-facing"
        return original(self, *args, **kwargs)

    ELBv2Backend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]


def patch_ec2_referenced_rule_description() -> None:
    """A security group rule that references another group keeps its
    description in the group pair, but moto's ``DescribeSecurityGroupRules``
    reads it only from the CIDR range: ``aws_vpc_security_group_*_rule`` with
    ``referenced_security_group_id`` and a description never converged."""
    from moto.ec2.models.security_groups import SecurityGroupRule

    def description(self: SecurityGroupRule) -> str | None:
        return self.ip_range.get("Description") or self.source_group.get("Description")

    SecurityGroupRule.description = property(description)  # type: ignore[assignment,method-assign]


#: AWS managed policies the OIDC bootstrap attaches (CI roles; API Gateway logging role),
#: see lib/config/settings/github_oidc.py.
IAM_MANAGED_POLICIES = ("ReadOnlyAccess", "PowerUserAccess", "AmazonAPIGatewayPushToCloudWatchLogs")


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


def patch_rds_unique_resource_id() -> None:
    """moto 5.2.5 gives every DB instance the same ``DbiResourceId``
    (``db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U``). The provider reads an ``aws_db_instance``
    back by that id: with two instances in one account and region (two
    environments' platform stacks), the read matches both and the apply fails with
    "couldn't find resource". Each instance gets its own id, as on AWS."""
    import secrets
    import string

    from moto.rds.models import DBInstance

    original = DBInstance.__init__
    alphabet = string.ascii_uppercase + string.digits

    def __init__(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.dbi_resource_id = "db-" + "".join(secrets.choice(alphabet) for _ in range(26))

    DBInstance.__init__ = __init__  # type: ignore[method-assign]
