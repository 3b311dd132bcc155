"""A VPC with public and private subnets over three AZs, optional NAT, and flow logs."""

from __future__ import annotations

import ipaddress

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_availability_zones import DataAwsAvailabilityZones
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from lib.constructs.logs_kms import LogsKey
from lib.naming import NameKind, Namer

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
        logs_key: LogsKey,
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

        azs = DataAwsAvailabilityZones(self, "azs", state="available")
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

        self._flow_logs(namer, logs_key, log_retention_days)

    @property
    def public_subnet_ids(self) -> list[str]:
        return [s.id for s in self.public_subnets]

    @property
    def private_subnet_ids(self) -> list[str]:
        return [s.id for s in self.private_subnets]

    def _flow_logs(self, namer: Namer, logs_key: LogsKey, retention_days: int) -> None:
        group = logs_key.log_group(
            self, "flow-logs", name=namer.name("plat-flow", NameKind.LOG_GROUP), retention_days=retention_days
        )
        trust = DataAwsIamPolicyDocument(
            self,
            "flow-logs-trust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    actions=["sts:AssumeRole"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=["vpc-flow-logs.amazonaws.com"]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[namer.account_id]
                        )
                    ],
                )
            ],
        )
        role = IamRole(
            self,
            "flow-logs-role",
            name=namer.name("plat-flow", NameKind.IAM_ROLE),
            assume_role_policy=trust.json,
        )
        # Only this log group and its streams: the group exists, so no CreateLogGroup.
        write = DataAwsIamPolicyDocument(
            self,
            "flow-logs-write",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    resources=[group.arn, f"{group.arn}:*"],
                )
            ],
        )
        IamRolePolicy(self, "flow-logs-policy", name="write-flow-logs", role=role.id, policy=write.json)
        FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": namer.name("plat-flow")},
        )
