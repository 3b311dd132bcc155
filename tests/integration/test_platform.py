"""The platform stack as deployed: network, security groups, ECS behind the ALB, RDS, SSM.

Expected sizes come from the environment file the stack was deployed from (its
name is the first part of every resource name), so the same tests hold for
pr, dev, staging and prod, on the embedded AWS and on real AWS.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from lib.config import load_environment
from lib.config.settings.platform import PlatformSettings

KEYS = (
    "PlatformVpcId",
    "PublicSubnetIds",
    "PrivateSubnetIds",
    "AlbDnsName",
    "EcsClusterName",
    "EcsServiceName",
    "DbEndpoint",
    "PlatformSsmPrefix",
)
POSTGRES_PORT = 5432


def _ids(value: Any) -> list[str]:
    """A subnet id list as flat outputs hold it (a JSON list, or its text)."""
    if isinstance(value, str):
        value = json.loads(value) if value.startswith("[") else value.split(",")
    return [str(v) for v in value]


@pytest.fixture(scope="module")
def platform(outputs) -> dict[str, Any]:
    missing = [k for k in KEYS if k not in outputs]
    if missing:
        pytest.skip(f"platform stack not deployed (no {', '.join(missing)} in the outputs)")
    return {k: outputs[k] for k in KEYS}


@pytest.fixture(scope="module")
def settings(platform) -> PlatformSettings:
    env = platform["EcsClusterName"].split("-", 1)[0]
    found = load_environment(env).settings_for("platform")
    assert isinstance(found, PlatformSettings)
    return found


@pytest.fixture(scope="module")
def ec2(region):
    return boto3.client("ec2", region_name=region)


@pytest.fixture(scope="module")
def service(platform, region) -> dict[str, Any]:
    ecs = boto3.client("ecs", region_name=region)
    (found,) = ecs.describe_services(
        cluster=platform["EcsClusterName"], services=[platform["EcsServiceName"]]
    )["services"]
    return found


@pytest.fixture(scope="module")
def load_balancer(platform, region) -> dict[str, Any]:
    elb = boto3.client("elbv2", region_name=region)
    pages = elb.get_paginator("describe_load_balancers").paginate()
    found = [lb for page in pages for lb in page["LoadBalancers"] if lb["DNSName"] == platform["AlbDnsName"]]
    assert len(found) == 1, f"no load balancer with DNS name {platform['AlbDnsName']}"
    return found[0]


@pytest.fixture(scope="module")
def database(platform, region) -> dict[str, Any]:
    rds = boto3.client("rds", region_name=region)
    host = platform["DbEndpoint"].rsplit(":", 1)[0]
    pages = rds.get_paginator("describe_db_instances").paginate()
    found = [
        db for page in pages for db in page["DBInstances"] if db.get("Endpoint", {}).get("Address") == host
    ]
    assert len(found) == 1, f"no DB instance at {host}"
    return found[0]


# -- network -----------------------------------------------------------------------


def test_vpc_and_subnets_across_three_azs(platform, settings, ec2):
    vpc_id = platform["PlatformVpcId"]
    (vpc,) = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["CidrBlock"] == settings.vpc_cidr
    hostnames = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")
    assert hostnames["EnableDnsHostnames"]["Value"] is True
    for key in ("PublicSubnetIds", "PrivateSubnetIds"):
        subnets = ec2.describe_subnets(SubnetIds=_ids(platform[key]))["Subnets"]
        assert len(subnets) == 3
        assert {s["VpcId"] for s in subnets} == {vpc_id}
        assert len({s["AvailabilityZone"] for s in subnets}) == 3, f"{key} share an AZ"
        assert not any(s["MapPublicIpOnLaunch"] for s in subnets)


def _route_table_of(ec2, subnet_id: str) -> dict[str, Any]:
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])
    (table,) = tables["RouteTables"]
    return table


def _default_route(table: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)


def test_route_tables(platform, settings, ec2):
    for subnet_id in _ids(platform["PublicSubnetIds"]):
        route = _default_route(_route_table_of(ec2, subnet_id))
        assert route is not None
        assert route["GatewayId"].startswith("igw-")
    for subnet_id in _ids(platform["PrivateSubnetIds"]):
        route = _default_route(_route_table_of(ec2, subnet_id))
        if settings.nat_gateway:
            assert route is not None
            assert route["NatGatewayId"].startswith("nat-")
        else:
            assert route is None, "without NAT the private subnets have no way out"


def test_flow_logs_on_the_vpc(platform, ec2):
    flows = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [platform["PlatformVpcId"]]}])
    (flow,) = flows["FlowLogs"]
    assert flow["TrafficType"] == "ALL"
    assert flow["LogDestinationType"] == "cloud-watch-logs"


# -- security groups ---------------------------------------------------------------


def _ingress(ec2, group_id: str) -> set[tuple[int, int, str]]:
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
    found = set()
    for rule in rules["SecurityGroupRules"]:
        if rule["IsEgress"]:
            continue
        peer = rule.get("ReferencedGroupInfo", {}).get("GroupId") or rule.get("CidrIpv4")
        found.add((rule["FromPort"], rule["ToPort"], peer))
    return found


def test_security_groups_alb_to_tasks_to_db(settings, service, load_balancer, database, ec2):
    (alb_sg,) = load_balancer["SecurityGroups"]
    (tasks_sg,) = service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]
    (db_sg,) = [g["VpcSecurityGroupId"] for g in database["VpcSecurityGroups"]]
    listener_ports = {80, 443} if settings.certificate_arn else {80}
    assert _ingress(ec2, alb_sg) == {(p, p, "0.0.0.0/0") for p in listener_ports}
    port = settings.container_port
    assert _ingress(ec2, tasks_sg) == {(port, port, alb_sg)}
    assert _ingress(ec2, db_sg) == {(POSTGRES_PORT, POSTGRES_PORT, tasks_sg)}


# -- containers --------------------------------------------------------------------


def test_ecs_service_and_cluster(platform, settings, service, region):
    ecs = boto3.client("ecs", region_name=region)
    (cluster,) = ecs.describe_clusters(clusters=[platform["EcsClusterName"]], include=["SETTINGS"])[
        "clusters"
    ]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert service["desiredCount"] == settings.desired_count
    assert service["launchType"] == "FARGATE"
    vpc_config = service["networkConfiguration"]["awsvpcConfiguration"]
    expected_subnets = platform["PrivateSubnetIds"] if settings.nat_gateway else platform["PublicSubnetIds"]
    assert sorted(vpc_config["subnets"]) == sorted(_ids(expected_subnets))
    assert vpc_config["assignPublicIp"] == ("DISABLED" if settings.nat_gateway else "ENABLED")
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert (task["cpu"], task["memory"]) == (str(settings.task_cpu), str(settings.task_memory))
    assert task["networkMode"] == "awsvpc"
    (container,) = task["containerDefinitions"]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert {s["name"] for s in container["secrets"]} == {"DB_USERNAME", "DB_PASSWORD"}


def test_alb_listener_and_target_group(settings, service, load_balancer, region):
    elb = boto3.client("elbv2", region_name=region)
    assert load_balancer["Type"] == "application"
    assert load_balancer["Scheme"] == "internet-facing"
    (wiring,) = service["loadBalancers"]
    assert wiring["containerPort"] == settings.container_port
    (group,) = elb.describe_target_groups(TargetGroupArns=[wiring["targetGroupArn"]])["TargetGroups"]
    assert group["TargetType"] == "ip"
    assert group["Port"] == settings.container_port
    assert group["HealthCheckPath"] == settings.health_check_path
    assert group["HealthCheckEnabled"] is True
    assert group["LoadBalancerArns"] == [load_balancer["LoadBalancerArn"]]
    listeners = elb.describe_listeners(LoadBalancerArn=load_balancer["LoadBalancerArn"])["Listeners"]
    by_port = {listener["Port"]: listener for listener in listeners}
    if settings.certificate_arn:
        assert set(by_port) == {80, 443}
        assert by_port[443]["Protocol"] == "HTTPS"
        forward = by_port[443]
    else:
        assert set(by_port) == {80}
        forward = by_port[80]
    (action,) = forward["DefaultActions"]
    assert action["Type"] == "forward"
    assert action["TargetGroupArn"] == wiring["targetGroupArn"]


def test_alb_access_logs_and_waf(load_balancer, region):
    elb = boto3.client("elbv2", region_name=region)
    arn = load_balancer["LoadBalancerArn"]
    attributes = {
        a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    }
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    s3 = boto3.client("s3", region_name=region)
    block = s3.get_public_access_block(Bucket=attributes["access_logs.s3.bucket"])
    assert all(block["PublicAccessBlockConfiguration"].values())
    waf = boto3.client("wafv2", region_name=region)
    acl = waf.get_web_acl_for_resource(ResourceArn=arn)["WebACL"]
    assert [r["Name"] for r in sorted(acl["Rules"], key=lambda r: r["Priority"])] == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesAnonymousIpList",
    ]
    anonymous = next(r for r in acl["Rules"] if r["Name"] == "AWSManagedRulesAnonymousIpList")
    overrides = anonymous["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert overrides == [{"Name": "HostingProviderIPList", "ActionToUse": {"Count": {}}}]
    (destination,) = waf.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"][
        "LogDestinationConfigs"
    ]
    assert ":log-group:aws-waf-logs-" in destination


# -- database ----------------------------------------------------------------------


def test_rds_encrypted_private_sized_per_environment(platform, settings, database):
    assert database["Engine"] == "postgres"
    assert database["StorageEncrypted"] is True
    assert database["PubliclyAccessible"] is False
    assert database["DBInstanceClass"] == settings.db_instance_class
    assert database["MultiAZ"] is settings.multi_az
    assert database["BackupRetentionPeriod"] == settings.backup_retention_days
    assert database["Endpoint"]["Port"] == POSTGRES_PORT
    subnets = {s["SubnetIdentifier"] for s in database["DBSubnetGroup"]["Subnets"]}
    assert subnets == set(_ids(platform["PrivateSubnetIds"]))


# -- exports -----------------------------------------------------------------------


def test_ssm_parameters_equal_outputs(platform, region):
    ssm = boto3.client("ssm", region_name=region)
    prefix = platform["PlatformSsmPrefix"]
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=prefix)
    values = {p["Name"].removeprefix(prefix + "/"): p["Value"] for page in pages for p in page["Parameters"]}
    assert values["vpc-id"] == platform["PlatformVpcId"]
    assert values["cluster-name"] == platform["EcsClusterName"]
    assert values["alb-dns-name"] == platform["AlbDnsName"]
    assert values["db-endpoint"] == platform["DbEndpoint"]
    assert values["public-subnet-ids"].split(",") == _ids(platform["PublicSubnetIds"])
    assert values["private-subnet-ids"].split(",") == _ids(platform["PrivateSubnetIds"])
    assert values["db-secret-arn"].startswith("arn:aws:secretsmanager:")
