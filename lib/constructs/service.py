"""An ECS Fargate service behind an Application Load Balancer.

Traffic path: internet -> ALB (80, and 443 with a certificate) -> tasks on the
container port. Security groups allow exactly that path; anything else the
tasks may reach is added by the caller (e.g. ``Database.allow_from``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster, EcsClusterSetting
from cdktf_cdktf_provider_aws.ecs_service import (
    EcsService,
    EcsServiceDeploymentCircuitBreaker,
    EcsServiceLoadBalancer,
    EcsServiceNetworkConfiguration,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
    LbListenerDefaultActionRedirect,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from lib.constructs.alb_logs import AlbLogsBucket
from lib.constructs.iam import Grant, ServiceRole, assume_role_policy
from lib.naming import NameKind, Namer

ECS_TASKS = "ecs-tasks.amazonaws.com"
HTTP_PORT = 80
HTTPS_PORT = 443
#: TLS 1.2 and 1.3 only.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
#: The container's root filesystem is read-only; it writes only here (task storage).
SCRATCH_PATH = "/tmp"  # noqa: S108 - a per-task ephemeral volume, not the host's /tmp

_PRIVATE_ECR = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repo>[^:@]+)"
)


@dataclass(frozen=True)
class TaskSize:
    cpu: int
    memory: int
    architecture: str = "X86_64"


def ecr_repository_arn(image: str) -> str | None:
    """The ARN of the private ECR repository ``image`` is pulled from, if it is one."""
    match = _PRIVATE_ECR.match(image)
    if match is None:
        return None
    return f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['repo']}"


class FargateService(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        namer: Namer,
        service: str,
        vpc_id: str,
        alb_subnet_ids: list[str],
        task_subnet_ids: list[str],
        assign_public_ip: bool,
        size: TaskSize,
        desired_count: int,
        image: str,
        container_port: int,
        health_check_path: str,
        certificate_arn: str | None,
        deletion_protection: bool,
        access_logs: AlbLogsBucket,
        logs_key_arn: str,
        log_retention_days: int,
        environment: dict[str, str],
        secrets: dict[str, str],
        secret_arns: list[str],
    ) -> None:
        super().__init__(scope, id)
        self.alb_sg, self.tasks_sg = self._security_groups(
            namer, service, vpc_id, container_port, https=certificate_arn is not None
        )
        log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=namer.name(service, NameKind.LOG_GROUP),
            retention_in_days=log_retention_days,
            kms_key_id=logs_key_arn,
        )
        execution_role = self._execution_role(namer, service, log_group.arn, secret_arns, image)
        task_role = self._task_role(namer, service)

        self.cluster = EcsCluster(
            self,
            "cluster",
            name=namer.name(service, NameKind.ECS_CLUSTER),
            setting=[EcsClusterSetting(name="containerInsights", value="enabled")],
        )
        container = {
            "name": service,
            "image": image,
            "essential": True,
            "readonlyRootFilesystem": True,
            "portMappings": [
                {"containerPort": container_port, "hostPort": container_port, "protocol": "tcp"}
            ],
            "mountPoints": [{"sourceVolume": "scratch", "containerPath": SCRATCH_PATH, "readOnly": False}],
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group.name,
                    "awslogs-region": namer.region,
                    "awslogs-stream-prefix": service,
                },
            },
        }
        self.task_definition = EcsTaskDefinition(
            self,
            "task",
            family=namer.name(service),
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(size.cpu),
            memory=str(size.memory),
            runtime_platform=EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture=size.architecture
            ),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            volume=[EcsTaskDefinitionVolume(name="scratch")],
            container_definitions=json.dumps([container], separators=(",", ":")),
        )

        self.alb = Lb(
            self,
            "alb",
            name=namer.name(service, NameKind.ALB),
            internal=False,
            load_balancer_type="application",
            security_groups=[self.alb_sg.id],
            subnets=alb_subnet_ids,
            drop_invalid_header_fields=True,
            enable_deletion_protection=deletion_protection,
            access_logs=LbAccessLogs(
                bucket=access_logs.bucket.bucket, prefix=access_logs.prefix, enabled=True
            ),
            # ELB checks it may write to the bucket when logging is switched on.
            depends_on=[access_logs.policy],
        )
        self.target_group = LbTargetGroup(
            self,
            "tg",
            name=namer.name(service, NameKind.TARGET_GROUP),
            port=container_port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=vpc_id,
            deregistration_delay="30",
            health_check=LbTargetGroupHealthCheck(
                enabled=True,
                protocol="HTTP",
                path=health_check_path,
                port="traffic-port",
                matcher="200-399",
                interval=15,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
        )
        forward = LbListenerDefaultAction(type="forward", target_group_arn=self.target_group.arn)
        listeners = []
        if certificate_arn is None:
            listeners.append(
                LbListener(
                    self,
                    "http",
                    load_balancer_arn=self.alb.arn,
                    port=HTTP_PORT,
                    protocol="HTTP",
                    default_action=[forward],
                )
            )
        else:
            listeners.append(
                LbListener(
                    self,
                    "http",
                    load_balancer_arn=self.alb.arn,
                    port=HTTP_PORT,
                    protocol="HTTP",
                    default_action=[
                        LbListenerDefaultAction(
                            type="redirect",
                            redirect=LbListenerDefaultActionRedirect(
                                port=str(HTTPS_PORT), protocol="HTTPS", status_code="HTTP_301"
                            ),
                        )
                    ],
                )
            )
            listeners.append(
                LbListener(
                    self,
                    "https",
                    load_balancer_arn=self.alb.arn,
                    port=HTTPS_PORT,
                    protocol="HTTPS",
                    ssl_policy=TLS_POLICY,
                    certificate_arn=certificate_arn,
                    default_action=[forward],
                )
            )

        self.service = EcsService(
            self,
            "service",
            name=namer.name(service, NameKind.ECS_SERVICE),
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=desired_count,
            launch_type="FARGATE",
            platform_version="LATEST",
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=task_subnet_ids,
                security_groups=[self.tasks_sg.id],
                assign_public_ip=assign_public_ip,
            ),
            load_balancer=[
                EcsServiceLoadBalancer(
                    target_group_arn=self.target_group.arn,
                    container_name=service,
                    container_port=container_port,
                )
            ],
            health_check_grace_period_seconds=60,
            deployment_circuit_breaker=EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            availability_zone_rebalancing="ENABLED",
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            # A listener must forward to the target group before a service registers into it.
            depends_on=listeners,
        )

    # -- security groups -------------------------------------------------------

    def _security_groups(
        self, namer: Namer, service: str, vpc_id: str, container_port: int, *, https: bool
    ) -> tuple[SecurityGroup, SecurityGroup]:
        alb_sg = SecurityGroup(
            self,
            "alb-sg",
            name=namer.name(f"{service}-alb", NameKind.SECURITY_GROUP),
            description="ALB: HTTP(S) from the internet, out only to the tasks",
            vpc_id=vpc_id,
            tags={"Name": namer.name(f"{service}-alb")},
        )
        tasks_sg = SecurityGroup(
            self,
            "tasks-sg",
            name=namer.name(f"{service}-tasks", NameKind.SECURITY_GROUP),
            description="tasks: in only from the ALB",
            vpc_id=vpc_id,
            tags={"Name": namer.name(f"{service}-tasks")},
        )
        for port in (HTTP_PORT, HTTPS_PORT) if https else (HTTP_PORT,):
            VpcSecurityGroupIngressRule(
                self,
                f"alb-in-{port}",
                security_group_id=alb_sg.id,
                cidr_ipv4="0.0.0.0/0",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"public listener {port}",
            )
        VpcSecurityGroupEgressRule(
            self,
            "alb-out-tasks",
            security_group_id=alb_sg.id,
            referenced_security_group_id=tasks_sg.id,
            ip_protocol="tcp",
            from_port=container_port,
            to_port=container_port,
            description="to the tasks",
        )
        VpcSecurityGroupIngressRule(
            self,
            "tasks-in-alb",
            security_group_id=tasks_sg.id,
            referenced_security_group_id=alb_sg.id,
            ip_protocol="tcp",
            from_port=container_port,
            to_port=container_port,
            description="from the ALB",
        )
        VpcSecurityGroupEgressRule(
            self,
            "tasks-out-https",
            security_group_id=tasks_sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            description="AWS APIs and the image registry over HTTPS",
        )
        return alb_sg, tasks_sg

    # -- IAM -------------------------------------------------------------------

    def _execution_role(
        self, namer: Namer, service: str, log_group_arn: str, secret_arns: list[str], image: str
    ) -> ServiceRole:
        """What ECS itself needs to start a task: write its logs, read its secrets, pull its image."""
        grants = [
            Grant(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{log_group_arn}:*"])
        ]
        if secret_arns:
            grants.append(Grant(actions=["secretsmanager:GetSecretValue"], resources=secret_arns))
        repository = ecr_repository_arn(image)
        if repository is not None:
            grants += [
                Grant(
                    actions=["ecr:GetAuthorizationToken"],
                    resources=["*"],
                    reason="ecr:GetAuthorizationToken has no resource-level permissions",
                ),
                Grant(
                    actions=[
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    resources=[repository],
                ),
            ]
        return ServiceRole(
            self,
            "execution-role",
            name=namer.name(f"{service}-exec", NameKind.IAM_ROLE),
            service=ECS_TASKS,
            source_account=namer.account_id,
            description="ECS task execution: logs, the DB secret, the image",
            grants=grants,
        )

    def _task_role(self, namer: Namer, service: str) -> IamRole:
        """The application's own identity: no permissions until the application needs some."""
        return IamRole(
            self,
            "task-role",
            name=namer.name(f"{service}-task", NameKind.IAM_ROLE),
            assume_role_policy=assume_role_policy(ECS_TASKS, source_account=namer.account_id),
            description="the application's identity (no permissions yet)",
        )
