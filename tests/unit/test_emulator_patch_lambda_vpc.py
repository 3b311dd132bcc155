"""``patch_lambda_vpc_config_vpc_id``: a function's VPC is its subnets' VPC, not moto's constant."""

from __future__ import annotations

import io
import zipfile

import boto3

from scripts.tapctl.emulator.patches import patch_lambda_vpc_config_vpc_id
from tests.unit.offline_aws import mocked_aws


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def test_function_vpc_is_the_subnets_vpc(monkeypatch) -> None:
    patch_lambda_vpc_config_vpc_id()
    with mocked_aws(monkeypatch, region="us-east-2"):
        ec2 = boto3.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="fn", Description="fn", VpcId=vpc)["GroupId"]
        role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda")
        for name, config in (
            ("in-vpc", {"SubnetIds": [subnet], "SecurityGroupIds": [group]}),
            ("unknown-subnet", {"SubnetIds": ["subnet-0000000000"], "SecurityGroupIds": [group]}),
        ):
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="handler.handler",
                Code={"ZipFile": _zip()},
                VpcConfig=config,
            )
        assert lam.get_function_configuration(FunctionName="in-vpc")["VpcConfig"]["VpcId"] == vpc
        # a subnet the emulator does not know keeps moto's own answer
        assert (
            lam.get_function_configuration(FunctionName="unknown-subnet")["VpcConfig"]["VpcId"]
            == "vpc-123abc"
        )
        lam.create_function(
            FunctionName="outside",
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": _zip()},
        )
        assert "VpcId" not in lam.get_function_configuration(FunctionName="outside").get("VpcConfig", {})
