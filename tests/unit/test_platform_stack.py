"""The platform stack synthesized for dev, staging and prod (and a few variants).

Environment differences are data in ``environments/*.yaml``; these tests pin
what each environment gets, the traffic path the security groups allow, and
the failures a bad setting produces.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from lib.config import EnvironmentConfigError, Target, load_all, resolve_target
from lib.config.settings.platform import PlatformSettings
from lib.naming import NameTooLongError
from tests.unit.conftest import only, resources

REPO_ENVS = Path(__file__).resolve().parents[2] / "environments"
CERT = "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
SSM_KEYS = {
    "vpc-id",
    "public-subnet-ids",
    "private-subnet-ids",
    "cluster-name",
    "alb-dns-name",
    "db-endpoint",
    "db-secret-arn",
}
OUTPUTS = {
    "PlatformVpcId",
    "PublicSubnetIds",
    "PrivateSubnetIds",
    "AlbDnsName",
    "EcsClusterName",
    "EcsServiceName",
    "DbEndpoint",
    "PlatformSsmPrefix",
}

#: env -> (nat, multi_az, class, backup days, cpu, memory, tasks, log days, destroyable)
EXPECTED = {
    "dev": (False, False, "db.t3.micro", 1, "256", "512", 1, 14, True),
    "staging": (True, False, "db.t3.small", 3, "512", "1024", 2, 30, False),
    "prod": (True, True, "db.t3.medium", 7, "1024", "2048", 3, 365, False),
}


@pytest.fixture(params=sorted(EXPECTED))
def env(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def platform(synth, env) -> dict[str, Any]:
    return synth(env)["platform"]


def ref(rtype: str, stack: dict[str, Any], attr: str = "id") -> str:
    """``${<type>.<name>.<attr>}`` of the one resource of ``rtype`` in ``stack``."""
    (name,) = resources(stack, rtype)
    return f"${{{rtype}.{name}.{attr}}}"


def named(stack: dict[str, Any], rtype: str, fragment: str) -> tuple[str, dict[str, Any]]:
    found = [(k, v) for k, v in resources(stack, rtype).items() if fragment in k]
    assert len(found) == 1, f"expected one {rtype} named *{fragment}*, found {[k for k, _ in found]}"
    return found[0]


def synth_variant(tmp_path: Path, env: str, **changes: Any) -> dict[str, Any]:
    """The platform stack of ``env`` with ``changes`` applied to its settings."""
    from lib.app import CiMetadata
    from lib.app import synth as synth_app

    target = resolve_target(env, None)
    settings = target.env.settings["platform"].model_copy(update=changes)
    new_env = target.env.model_copy(update={"settings": {**target.env.settings, "platform": settings}})
    synth_app(Target(env=new_env, suffix=target.suffix), CiMetadata(), tmp_path, only="platform")
    return json.loads((tmp_path / "stacks" / "platform" / "cdk.tf.json").read_text())


# -- per-environment differences --------------------------------------------------


def test_environment_sizes(platform, env):
    nat, multi_az, db_class, backups, cpu, memory, tasks, log_days, _ = EXPECTED[env]
    db = only(platform, "aws_db_instance")
    assert db["instance_class"] == db_class
    assert db["multi_az"] is multi_az
    assert db["backup_retention_period"] == backups
    task = only(platform, "aws_ecs_task_definition")
    assert (task["cpu"], task["memory"]) == (cpu, memory)
    assert only(platform, "aws_ecs_service")["desired_count"] == tasks
    retention = {g["retention_in_days"] for g in resources(platform, "aws_cloudwatch_log_group").values()}
    assert retention == {log_days}
    assert len(resources(platform, "aws_nat_gateway")) == (1 if nat else 0)
    assert len(resources(platform, "aws_eip")) == (1 if nat else 0)


def test_nat_gateway_routes_private_subnets(platform, env):
    nat = EXPECTED[env][0]
    routes = resources(platform, "aws_route")
    _, public_default = named(platform, "aws_route", "public-default")
    assert public_default["gateway_id"] == ref("aws_internet_gateway", platform)
    if nat:
        _, private_default = named(platform, "aws_route", "private-default")
        assert private_default["destination_cidr_block"] == "0.0.0.0/0"
        assert private_default["nat_gateway_id"] == ref("aws_nat_gateway", platform)
        gateway = only(platform, "aws_nat_gateway")
        assert gateway["subnet_id"].startswith("${aws_subnet.network_public-0_")
        assert len(routes) == 2
    else:
        assert len(routes) == 1, "without NAT the private subnets have no default route"


def test_tasks_placement_follows_nat(platform, env):
    nat = EXPECTED[env][0]
    network = only(platform, "aws_ecs_service")["network_configuration"]
    tier = "private" if nat else "public"
    assert network["assign_public_ip"] is (not nat)
    assert len(network["subnets"]) == 3
    assert all(s.startswith(f"${{aws_subnet.network_{tier}-") for s in network["subnets"])


def test_deletion_follows_protection(platform, env):
    destroyable = EXPECTED[env][-1]
    db = only(platform, "aws_db_instance")
    assert db["skip_final_snapshot"] is destroyable
    assert db["deletion_protection"] is (not destroyable)
    if destroyable:
        assert "final_snapshot_identifier" not in db
    else:
        assert db["final_snapshot_identifier"] == f"{env}-use1-plat-db-final-{env}"
    assert only(platform, "aws_lb")["enable_deletion_protection"] is (not destroyable)
    assert only(platform, "aws_s3_bucket")["force_destroy"] is destroyable
    assert only(platform, "aws_kms_key")["deletion_window_in_days"] == (7 if destroyable else 30)


def test_vpc_blocks_per_environment(synth):
    blocks = {env: only(synth(env)["platform"], "aws_vpc")["cidr_block"] for env in EXPECTED}
    assert blocks == {"dev": "10.0.0.0/16", "staging": "10.1.0.0/16", "prod": "10.2.0.0/16"}
    subnets = {v["cidr_block"] for v in resources(synth("prod")["platform"], "aws_subnet").values()}
    assert subnets == {
        "10.2.0.0/20",
        "10.2.16.0/20",
        "10.2.32.0/20",
        "10.2.128.0/20",
        "10.2.144.0/20",
        "10.2.160.0/20",
    }


# -- network -----------------------------------------------------------------------


def test_availability_zones_through_token_functions(synth):
    stack = synth("dev")["platform"]
    (azs_name, azs) = next(iter(stack["data"]["aws_availability_zones"].items()))
    assert azs["filter"] == [{"name": "zone-type", "values": ["availability-zone"]}]
    picked: dict[str, list[int]] = {"public": [], "private": []}
    pattern = re.compile(
        rf"^\$\{{element\(data\.aws_availability_zones\.{azs_name}\.names, (?P<i>[0-9])\)\}}$"
    )
    for name, subnet in resources(stack, "aws_subnet").items():
        match = pattern.match(subnet["availability_zone"])
        assert match, f"{name}: {subnet['availability_zone']!r} is not element(<azs>.names, i)"
        tier = "public" if "public" in name else "private"
        picked[tier].append(int(match["i"]))
        assert subnet["map_public_ip_on_launch"] is False
    assert sorted(picked["public"]) == sorted(picked["private"]) == [0, 1, 2]
    assert "us-east-1a" not in json.dumps(stack)


def test_flow_logs_to_encrypted_group(synth):
    stack = synth("dev")["platform"]
    flow = only(stack, "aws_flow_log")
    assert flow["traffic_type"] == "ALL"
    assert flow["vpc_id"] == ref("aws_vpc", stack)
    group_name, group = named(stack, "aws_cloudwatch_log_group", "flow-logs")
    assert flow["log_destination"] == f"${{aws_cloudwatch_log_group.{group_name}.arn}}"
    assert group["kms_key_id"] == ref("aws_kms_key", stack, "arn")
    default_sg = only(stack, "aws_default_security_group")
    assert "ingress" not in default_sg
    assert "egress" not in default_sg


# -- security groups ---------------------------------------------------------------


#: (construct id fragment, role) of the three security groups.
SG_ROLES = (("alb-sg", "alb"), ("tasks-sg", "tasks"), ("database", "db"))


def _sg_names(stack: dict[str, Any]) -> dict[str, str]:
    """``${aws_security_group.<id>.id}`` -> short role (alb, tasks, db)."""
    roles = {}
    for key in resources(stack, "aws_security_group"):
        role = next(r for fragment, r in SG_ROLES if fragment in key)
        roles[f"${{aws_security_group.{key}.id}}"] = role
    return roles


def _rules(stack: dict[str, Any]) -> set[tuple[str, str, str, int, int]]:
    roles = _sg_names(stack)
    found = set()
    for rtype, direction in (
        ("aws_vpc_security_group_ingress_rule", "in"),
        ("aws_vpc_security_group_egress_rule", "out"),
    ):
        for rule in resources(stack, rtype).values():
            assert rule["ip_protocol"] == "tcp"
            assert rule["description"], "every rule says why it exists"
            peer = roles.get(rule.get("referenced_security_group_id", ""), rule.get("cidr_ipv4"))
            found.add((roles[rule["security_group_id"]], direction, peer, rule["from_port"], rule["to_port"]))
    return found


def test_security_groups_allow_only_alb_to_tasks_to_db(synth):
    stack = synth("staging")["platform"]
    assert set(_sg_names(stack).values()) == {"alb", "tasks", "db"}
    for sg in resources(stack, "aws_security_group").values():
        assert "ingress" not in sg, "rules are separate resources"
        assert "egress" not in sg, "rules are separate resources"
    assert _rules(stack) == {
        ("alb", "in", "0.0.0.0/0", 80, 80),
        ("alb", "out", "tasks", 8080, 8080),
        ("tasks", "in", "alb", 8080, 8080),
        ("tasks", "out", "0.0.0.0/0", 443, 443),
        ("tasks", "out", "db", 5432, 5432),
        ("db", "in", "tasks", 5432, 5432),
    }


# -- database ----------------------------------------------------------------------


def test_database_private_encrypted_aws_managed_password(synth):
    stack = synth("prod")["platform"]
    db = only(stack, "aws_db_instance")
    assert db["engine"] == "postgres"
    assert db["storage_encrypted"] is True
    assert db["publicly_accessible"] is False
    assert db["manage_master_user_password"] is True
    assert db["username"] == "app_admin"
    assert db["performance_insights_kms_key_id"] == ref("aws_kms_key", stack, "arn")
    subnet_group = only(stack, "aws_db_subnet_group")
    assert len(subnet_group["subnet_ids"]) == 3
    assert all(s.startswith("${aws_subnet.network_private-") for s in subnet_group["subnet_ids"])
    params = {p["name"]: p["value"] for p in only(stack, "aws_db_parameter_group")["parameter"]}
    assert params["rds.force_ssl"] == "1"


@pytest.mark.parametrize("env", sorted(EXPECTED))
def test_no_password_in_synthesized_json(synth, env):
    stack = synth(env)["platform"]
    db = only(stack, "aws_db_instance")
    assert "password" not in db
    assert "master_password" not in json.dumps(stack)
    assert "aws_secretsmanager_secret_version" not in stack.get("resource", {})
    task = only(stack, "aws_ecs_task_definition")
    container = json.loads(task["container_definitions"])[0]
    # Outside the container definition the only mention is the switch that lets RDS manage it.
    rest = json.dumps({**stack, "resource": {**stack["resource"], "aws_ecs_task_definition": {}}})
    mentions = re.findall(r'"([^"]*password[^"]*)"', rest, flags=re.IGNORECASE)
    assert set(mentions) == {"manage_master_user_password"}
    # Inside it, the password is a reference to the RDS-managed secret, resolved by ECS at start.
    assert "password" not in json.dumps(container["environment"]).lower()
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    (db_key,) = resources(stack, "aws_db_instance")
    secret = f"${{aws_db_instance.{db_key}.master_user_secret[0].secret_arn}}"
    assert secrets == {"DB_PASSWORD": f"{secret}:password::", "DB_USERNAME": f"{secret}:username::"}
    assert {e["name"] for e in container["environment"]} == {"DB_HOST", "DB_NAME", "DB_PORT"}


# -- containers --------------------------------------------------------------------


def test_cluster_task_and_target_group(synth):
    stack = synth("dev")["platform"]
    cluster = only(stack, "aws_ecs_cluster")
    assert cluster["name"] == "dev-use1-web-dev"
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    task = only(stack, "aws_ecs_task_definition")
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["network_mode"] == "awsvpc"
    container = json.loads(task["container_definitions"])[0]
    logging = container["logConfiguration"]
    assert logging["logDriver"] == "awslogs"
    group_name, _ = named(stack, "aws_cloudwatch_log_group", "service_logs")
    assert logging["options"]["awslogs-group"] == f"${{aws_cloudwatch_log_group.{group_name}.name}}"
    assert container["readonlyRootFilesystem"] is True
    tg = only(stack, "aws_lb_target_group")
    assert tg["target_type"] == "ip"
    assert tg["port"] == 8080
    assert tg["health_check"]["path"] == "/"
    assert tg["health_check"]["matcher"] == "200-399"
    service = only(stack, "aws_ecs_service")
    assert service["launch_type"] == "FARGATE"
    assert service["load_balancer"] == [
        {
            "container_name": "web",
            "container_port": 8080,
            "target_group_arn": ref("aws_lb_target_group", stack, "arn"),
        }
    ]
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    alb = only(stack, "aws_lb")
    assert alb["name"] == "dev-use1-web-dev"
    assert alb["internal"] is False
    assert alb["drop_invalid_header_fields"] is True
    assert alb["access_logs"]["enabled"] is True


def test_roles_least_privilege(synth):
    stack = synth("dev")["platform"]
    policies = {k: json.loads(v["policy"]) for k, v in resources(stack, "aws_iam_role_policy").items()}
    actions = {k: sorted(a for s in doc["Statement"] for a in s["Action"]) for k, doc in policies.items()}
    assert not [a for acts in actions.values() for a in acts if "*" in a]
    (execution,) = [v for k, v in actions.items() if "execution-role" in k]
    assert execution == ["logs:CreateLogStream", "logs:PutLogEvents", "secretsmanager:GetSecretValue"]
    # The default image is public: no ECR pull rights, and the task role has no policy at all.
    task_role_key = next(k for k in resources(stack, "aws_iam_role") if "task-role" in k)
    assert not any(task_role_key in json.dumps(p) for p in resources(stack, "aws_iam_role_policy").values())
    for role in resources(stack, "aws_iam_role").values():
        trust = json.loads(role["assume_role_policy"])["Statement"][0]
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


def test_private_ecr_image_and_monitoring_off(tmp_path):
    image = "111111111111.dkr.ecr.us-east-1.amazonaws.com/team/web:1.4.2"
    stack = synth_variant(tmp_path, "dev", container_image=image, db_monitoring_interval=0)
    (policy,) = [
        json.loads(v["policy"])
        for k, v in resources(stack, "aws_iam_role_policy").items()
        if "execution" in k
    ]
    by_action = {a: s["Resource"] for s in policy["Statement"] for a in s["Action"]}
    assert by_action["ecr:GetAuthorizationToken"] == ["*"]
    repository = ["arn:aws:ecr:us-east-1:111111111111:repository/team/web"]
    assert by_action["ecr:BatchGetImage"] == repository
    assert by_action["ecr:GetDownloadUrlForLayer"] == repository
    db = only(stack, "aws_db_instance")
    assert db["monitoring_interval"] == 0
    assert "monitoring_role_arn" not in db
    assert not [k for k in resources(stack, "aws_iam_role") if "monitoring" in k]


def test_http_listener_only_without_certificate(synth):
    stack = synth("prod")["platform"]
    (listener,) = resources(stack, "aws_lb_listener").values()
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    assert listener["default_action"] == [
        {"type": "forward", "target_group_arn": ref("aws_lb_target_group", stack, "arn")}
    ]


def test_https_listener_when_certificate_configured(tmp_path):
    stack = synth_variant(tmp_path, "dev", certificate_arn=CERT)
    listeners = {v["port"]: v for v in resources(stack, "aws_lb_listener").values()}
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["protocol"] == "HTTPS"
    assert https["certificate_arn"] == CERT
    assert https["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["default_action"][0]["type"] == "forward"
    redirect = listeners[80]["default_action"][0]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}
    assert ("alb", "in", "0.0.0.0/0", 443, 443) in _rules(stack)


def test_waf_in_front_of_the_alb(synth):
    stack = synth("dev")["platform"]
    acl = only(stack, "aws_wafv2_web_acl")
    assert acl["scope"] == "REGIONAL"
    assert [r["name"] for r in acl["rule"]] == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesAnonymousIpList",
    ]
    assert [r["priority"] for r in acl["rule"]] == [0, 1, 2, 3]
    anonymous = acl["rule"][3]["statement"]["managed_rule_group_statement"]
    assert anonymous["rule_action_override"] == [
        {"name": "HostingProviderIPList", "action_to_use": {"count": {}}}
    ]
    assert all(
        "rule_action_override" not in r["statement"]["managed_rule_group_statement"] for r in acl["rule"][:3]
    )
    association = only(stack, "aws_wafv2_web_acl_association")
    assert association["resource_arn"] == ref("aws_lb", stack, "arn")
    logging = only(stack, "aws_wafv2_web_acl_logging_configuration")
    group_name, group = named(stack, "aws_cloudwatch_log_group", "waf_logs")
    assert group["name"].startswith("aws-waf-logs-")
    assert logging["log_destination_configs"] == [f"${{aws_cloudwatch_log_group.{group_name}.arn}}"]


def test_alb_logs_bucket_private_and_expiring(synth):
    stack = synth("dev")["platform"]
    bucket = only(stack, "aws_s3_bucket")
    assert bucket["bucket"] == "dev-use1-alb-logs-dev-111111111111"
    block = only(stack, "aws_s3_bucket_public_access_block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls"))
    sse = only(stack, "aws_s3_bucket_server_side_encryption_configuration")
    assert sse["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    rule = only(stack, "aws_s3_bucket_lifecycle_configuration")["rule"][0]
    assert rule["expiration"] == [{"days": 14}]
    policy = json.loads(only(stack, "aws_s3_bucket_policy")["policy"])
    write = policy["Statement"][0]
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"].endswith("/web/AWSLogs/111111111111/*")


# -- exports -----------------------------------------------------------------------


def test_ssm_hierarchy(synth):
    stack = synth("staging")["platform"]
    params = {v["name"]: v for v in resources(stack, "aws_ssm_parameter").values()}
    assert set(params) == {f"/tap/staging/platform/{k}" for k in SSM_KEYS}
    assert {p["type"] for p in params.values()} == {"String"}
    assert params["/tap/staging/platform/vpc-id"]["value"] == ref("aws_vpc", stack)
    assert params["/tap/staging/platform/cluster-name"]["value"] == ref("aws_ecs_cluster", stack, "name")
    assert params["/tap/staging/platform/alb-dns-name"]["value"] == ref("aws_lb", stack, "dns_name")
    assert params["/tap/staging/platform/db-endpoint"]["value"] == ref("aws_db_instance", stack, "endpoint")
    assert params["/tap/staging/platform/private-subnet-ids"]["value"].startswith('${join(",", [aws_subnet.')


def test_outputs(synth):
    stack = synth("dev")["platform"]
    outputs = {k: v["value"] for k, v in stack["output"].items()}
    assert set(outputs) == OUTPUTS
    assert outputs["PlatformSsmPrefix"] == "/tap/dev/platform"
    assert outputs["PlatformVpcId"] == ref("aws_vpc", stack)
    assert outputs["AlbDnsName"] == ref("aws_lb", stack, "dns_name")
    assert outputs["EcsClusterName"] == ref("aws_ecs_cluster", stack, "name")
    assert outputs["EcsServiceName"] == ref("aws_ecs_service", stack, "name")
    assert outputs["DbEndpoint"] == ref("aws_db_instance", stack, "endpoint")
    assert len(outputs["PublicSubnetIds"]) == len(outputs["PrivateSubnetIds"]) == 3
    assert all("network_public-" in s for s in outputs["PublicSubnetIds"])
    assert all("network_private-" in s for s in outputs["PrivateSubnetIds"])


def test_pr_environment_is_small_and_named_by_suffix(synth):
    stack = synth("pr")["platform"]
    assert only(stack, "aws_vpc")["cidr_block"] == "10.100.0.0/16"
    assert not resources(stack, "aws_nat_gateway")
    assert only(stack, "aws_db_instance")["identifier"] == "pr-use1-plat-db-pr7"
    assert stack["output"]["PlatformSsmPrefix"]["value"] == "/tap/pr7/platform"
    assert stack["terraform"]["backend"]["s3"]["key"] == "pr7/platform.tfstate"


# -- invalid settings --------------------------------------------------------------


@pytest.fixture
def envdir(tmp_path: Path) -> Path:
    target = tmp_path / "environments"
    shutil.copytree(REPO_ENVS, target)
    return target


def test_overlapping_vpc_cidrs_fail(envdir):
    path = envdir / "staging.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("vpc_cidr: 10.1.0.0/16", "vpc_cidr: 10.0.128.0/17"),
        encoding="utf-8",
    )
    with pytest.raises(EnvironmentConfigError) as err:
        load_all(envdir)
    message = str(err.value)
    assert "CIDR 10.0.128.0/17 overlaps 10.0.0.0/16 at settings.platform.vpc_cidr" in message
    assert "dev.yaml" in message
    assert "staging.yaml" in message


def test_over_long_service_name_fails(tmp_path):
    with pytest.raises(NameTooLongError) as err:
        synth_variant(tmp_path, "staging", service_name="customer-portal-api")
    name = "staging-use1-customer-portal-api-staging"
    assert str(err.value) == (
        f"Application Load Balancer name {name!r} for 'customer-portal-api' is {len(name)} characters; "
        "the limit is 32. Shorten the service name or the environment suffix."
    )


def test_invalid_fargate_size_fails():
    with pytest.raises(ValidationError) as err:
        PlatformSettings(vpc_cidr="10.9.0.0/16", task_cpu=256, task_memory=4096)
    assert (
        "task_cpu 256 with task_memory 4096 is not a valid Fargate combination; with 256 CPU units "
        "task_memory (MiB) must be 512, 1024, 2048"
    ) in str(err.value)
    with pytest.raises(ValidationError, match="task_cpu 300 is not a Fargate CPU size"):
        PlatformSettings(vpc_cidr="10.9.0.0/16", task_cpu=300)
    with pytest.raises(ValidationError, match="log_retention_days 10 is not accepted by CloudWatch Logs"):
        PlatformSettings(vpc_cidr="10.9.0.0/16", log_retention_days=10)
    with pytest.raises(
        ValidationError, match="db_max_allocated_storage_gb 30 is below db_allocated_storage_gb 40"
    ):
        PlatformSettings(vpc_cidr="10.9.0.0/16", db_allocated_storage_gb=40, db_max_allocated_storage_gb=30)
