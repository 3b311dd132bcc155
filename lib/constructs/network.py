"""A VPC with public and private subnets over three AZs, optional NAT, and flow logs."""

from __future__ import annotations

import ipaddress

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_availability_zones import (
    DataAwsAvailabilityZones,
    DataAwsAvailabilityZonesFilter,
)
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from lib.constructs.flow_logs import vpc_flow_logs
from lib.naming import Namer

AZ_COUNT = 3
#: Each subnet is the VPC block split 16 ways: a /16 VPC gets /20 subnets.
SUBNET_NEWBITS = 4
#: Private subnets start half-way through the block, leaving room to add more public ones.
PRIVATE_OFFSET = 8


def subnet_cidrs(vpc_cidr: str) -> tuple[list[str], list[str]]:
    """(public, private) subnet blocks of ``vpc_cidr``, ``AZ_COUNT`` of each."""
    net = ipaddress.IPv4Network(vpc_cidr)
    blocks = [str(b) for b in net.subnets(prefixlen_diff=SUBNET_NEWBITS)]
    return blocks[:AZ_COUNT], blocks[PRIVATE_OFFSET : PRIVATE_OFFSET + AZ_COUNT]


class Network(Construct):
    """VPC, 3 public + 3 private subnets, IGW, optional single NAT, routes, flow logs.

    Availability zones come from the ``aws_availability_zones`` data source and
    are picked with ``element()`` at plan time, so the same JSON fits any region.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        namer: Namer,
        cidr: str,
        nat_gateway: bool,
        logs_key_arn: str,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, id)
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": namer.name("plat-vpc")},
        )
        # No rule at all on the default security group: nothing may use it by accident.
        DefaultSecurityGroup(
            self, "default-sg", vpc_id=self.vpc.id, tags={"Name": namer.name("plat-default")}
        )

        # Regular AZs only (no Local or Wavelength Zones), and no state filter:
        # an impaired zone must not shift the index of the others.
        azs = DataAwsAvailabilityZones(
            self,
            "azs",
            filter=[DataAwsAvailabilityZonesFilter(name="zone-type", values=["availability-zone"])],
        )
        public_cidrs, private_cidrs = subnet_cidrs(cidr)
        self.public_subnets = [
            Subnet(
                self,
                f"public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=block,
                availability_zone=Fn.element(azs.names, i),
                map_public_ip_on_launch=False,
                tags={"Name": namer.name(f"plat-public-{i}"), "Tier": "public"},
            )
            for i, block in enumerate(public_cidrs)
        ]
        self.private_subnets = [
            Subnet(
                self,
                f"private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=block,
                availability_zone=Fn.element(azs.names, i),
                map_public_ip_on_launch=False,
                tags={"Name": namer.name(f"plat-private-{i}"), "Tier": "private"},
            )
            for i, block in enumerate(private_cidrs)
        ]

        igw = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": namer.name("plat-igw")})
        public_rt = RouteTable(
            self, "public-rt", vpc_id=self.vpc.id, tags={"Name": namer.name("plat-public")}
        )
        Route(
            self,
            "public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
        )
        for i, subnet in enumerate(self.public_subnets):
            RouteTableAssociation(self, f"public-rta-{i}", route_table_id=public_rt.id, subnet_id=subnet.id)

        private_rt = RouteTable(
            self, "private-rt", vpc_id=self.vpc.id, tags={"Name": namer.name("plat-private")}
        )
        self.nat: NatGateway | None = None
        if nat_gateway:
            eip = Eip(self, "nat-eip", domain="vpc", tags={"Name": namer.name("plat-nat")})
            self.nat = NatGateway(
                self,
                "nat",
                allocation_id=eip.allocation_id,
                subnet_id=self.public_subnets[0].id,
                tags={"Name": namer.name("plat-nat")},
                depends_on=[igw],
            )
            Route(
                self,
                "private-default",
                route_table_id=private_rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=self.nat.id,
            )
        for i, subnet in enumerate(self.private_subnets):
            RouteTableAssociation(self, f"private-rta-{i}", route_table_id=private_rt.id, subnet_id=subnet.id)

        vpc_flow_logs(
            self,
            namer=namer,
            service="plat",
            vpc_id=self.vpc.id,
            logs_key_arn=logs_key_arn,
            retention_days=log_retention_days,
        )

    @property
    def public_subnet_ids(self) -> list[str]:
        return [s.id for s in self.public_subnets]

    @property
    def private_subnet_ids(self) -> list[str]:
        return [s.id for s in self.private_subnets]
