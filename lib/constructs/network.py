"""A VPC with public and private subnets over three AZs, optional NAT, and flow logs;
the VPC, subnet-tier and route-table builders it shares with :mod:`lib.constructs.private_network`."""

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


def vpc_and_zones(
    scope: Construct, *, cidr: str, namer: Namer, prefix: str
) -> tuple[Vpc, DataAwsAvailabilityZones]:
    """The VPC ``<prefix>-vpc`` (DNS on), its default security group, and the region's zones."""
    vpc = Vpc(
        scope,
        "vpc",
        cidr_block=cidr,
        enable_dns_support=True,
        enable_dns_hostnames=True,
        tags={"Name": namer.name(f"{prefix}-vpc")},
    )
    # No rule at all on the default security group: nothing may use it by accident.
    DefaultSecurityGroup(scope, "default-sg", vpc_id=vpc.id, tags={"Name": namer.name(f"{prefix}-default")})
    # Regular AZs only (no Local or Wavelength Zones), and no state filter:
    # an impaired zone must not shift the index of the others.
    zones = DataAwsAvailabilityZones(
        scope,
        "azs",
        filter=[DataAwsAvailabilityZonesFilter(name="zone-type", values=["availability-zone"])],
    )
    return vpc, zones


def tier_subnets(
    scope: Construct,
    tier: str,
    *,
    vpc_id: str,
    zones: DataAwsAvailabilityZones,
    cidrs: list[str],
    namer: Namer,
    prefix: str,
) -> list[Subnet]:
    """``<tier>-<i>``: one subnet of the tier per block, in zone ``i`` (none maps public IPs)."""
    return [
        Subnet(
            scope,
            f"{tier}-{i}",
            vpc_id=vpc_id,
            cidr_block=block,
            availability_zone=Fn.element(zones.names, i),
            map_public_ip_on_launch=False,
            tags={"Name": namer.name(f"{prefix}-{tier}-{i}"), "Tier": tier},
        )
        for i, block in enumerate(cidrs)
    ]


def tier_route_table(
    scope: Construct, tier: str, *, vpc_id: str, subnets: list[Subnet], namer: Namer, prefix: str
) -> RouteTable:
    """``<tier>-rt``, associated with each subnet of the tier."""
    table = RouteTable(scope, f"{tier}-rt", vpc_id=vpc_id, tags={"Name": namer.name(f"{prefix}-{tier}")})
    for i, subnet in enumerate(subnets):
        RouteTableAssociation(scope, f"{tier}-rta-{i}", route_table_id=table.id, subnet_id=subnet.id)
    return table


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
        self.vpc, zones = vpc_and_zones(self, cidr=cidr, namer=namer, prefix="plat")
        public_cidrs, private_cidrs = subnet_cidrs(cidr)
        vpc_id = self.vpc.id
        self.public_subnets = tier_subnets(
            self, "public", vpc_id=vpc_id, zones=zones, cidrs=public_cidrs, namer=namer, prefix="plat"
        )
        self.private_subnets = tier_subnets(
            self, "private", vpc_id=vpc_id, zones=zones, cidrs=private_cidrs, namer=namer, prefix="plat"
        )

        igw = InternetGateway(self, "igw", vpc_id=vpc_id, tags={"Name": namer.name("plat-igw")})
        public_rt = tier_route_table(
            self, "public", vpc_id=vpc_id, subnets=self.public_subnets, namer=namer, prefix="plat"
        )
        Route(
            self,
            "public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
        )
        private_rt = tier_route_table(
            self, "private", vpc_id=vpc_id, subnets=self.private_subnets, namer=namer, prefix="plat"
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
