"""A VPC of private subnets only (three AZs), with S3 and DynamoDB gateway endpoints.

For workloads that reach nothing but S3 and DynamoDB: no internet gateway,
no NAT. Zones come from the ``aws_availability_zones`` data source and are
picked with ``element()`` at plan time (as in :mod:`lib.constructs.network`),
so the same JSON fits any region. Flow logs go to their own log group.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.security_group import SecurityGroup, SecurityGroupEgress
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from constructs import Construct

from lib.constructs.flow_logs import vpc_flow_logs
from lib.constructs.network import AZ_COUNT, subnet_cidrs, tier_route_table, tier_subnets, vpc_and_zones
from lib.naming import NameKind, ServiceName

#: Services reached through gateway endpoints (free, no ENI, no NAT).
GATEWAY_SERVICES = ("s3", "dynamodb")


@dataclass(frozen=True)
class PrivateNetworkProps:
    """A private network named after ``service``, in the region of its namer."""

    service: ServiceName
    cidr: str
    #: Encrypts the flow logs' log group.
    logs_key_arn: str
    log_retention_days: int


class PrivateNetwork(Construct):
    """VPC, ``AZ_COUNT`` private subnets, one route table, gateway endpoints,
    a security group for functions (HTTPS out only), flow logs."""

    def __init__(self, scope: Construct, id_: str, props: PrivateNetworkProps) -> None:
        super().__init__(scope, id_)
        namer, service = props.service.namer, props.service.service
        self.vpc, zones = vpc_and_zones(self, cidr=props.cidr, namer=namer, prefix=service)
        _, private_cidrs = subnet_cidrs(props.cidr)
        self.subnets = tier_subnets(
            self,
            "private",
            vpc_id=self.vpc.id,
            zones=zones,
            cidrs=private_cidrs[:AZ_COUNT],
            namer=namer,
            prefix=service,
        )
        route_table = tier_route_table(
            self, "private", vpc_id=self.vpc.id, subnets=self.subnets, namer=namer, prefix=service
        )
        self.endpoints = {
            svc: VpcEndpoint(
                self,
                f"{svc}-endpoint",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{namer.region}.{svc}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[route_table.id],
                tags={"Name": namer.name(f"{service}-{svc}")},
            )
            for svc in GATEWAY_SERVICES
        }
        functions = props.service.part("functions")
        self.security_group = SecurityGroup(
            self,
            "functions-sg",
            name=functions.name(NameKind.SECURITY_GROUP),
            description="Functions of the private network: HTTPS out only",
            vpc_id=self.vpc.id,
            egress=[
                SecurityGroupEgress(
                    description="HTTPS to AWS APIs (only the gateway endpoints are routable)",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=["0.0.0.0/0"],
                )
            ],
            tags={"Name": functions.name()},
        )
        vpc_flow_logs(
            self,
            namer=namer,
            service=service,
            vpc_id=self.vpc.id,
            logs_key_arn=props.logs_key_arn,
            retention_days=props.log_retention_days,
        )

    @property
    def subnet_ids(self) -> list[str]:
        return [s.id for s in self.subnets]
