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
from lib.naming import NameKind, ServiceName

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


@dataclass(frozen=True)
class FargateServiceProps:
    """The service ``service`` (its cluster, tasks, ALB and roles are named after it) and
    the container it runs; ``certificate_arn`` adds an HTTPS listener (HTTP redirects)."""

    service: ServiceName
    vpc_id: str
    alb_subnet_ids: list[str]
    task_subnet_ids: list[str]
    assign_public_ip: bool
    size: TaskSize
    desired_count: int
    image: str
    container_port: int
    health_check_path: str
    certificate_arn: str | None
    deletion_protection: bool
    access_logs: AlbLogsBucket
    #: Encrypts the containers' log group.
    logs_key_arn: str
    log_retention_days: int
    environment: dict[str, str]
    #: Container variable -> ``valueFrom`` of a Secrets Manager secret (key).
    secrets: dict[str, str]
    #: The secrets the execution role may read.
    secret_arns: list[str]


class FargateService(Construct):
    def __init__(self, scope: Construct, id_: str, props: FargateServiceProps) -> None:
        super().__init__(scope, id_)
        namer, service, container_port = props.service.namer, props.service.service, props.container_port
        self.alb_sg, self.tasks_sg = self._security_groups(
            props.service, props.vpc_id, container_port, https=props.certificate_arn is not None
        )
        log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=namer.name(service, NameKind.LOG_GROUP),
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_key_arn,
        )
        execution_role = self._execution_role(props.service, log_group.arn, props.secret_arns, props.image)
        task_role = self._task_role(props.service)

        self.cluster = EcsCluster(
            self,
            "cluster",
            name=namer.name(service, NameKind.ECS_CLUSTER),
            setting=[EcsClusterSetting(name="containerInsights", value="enabled")],
        )
        container = {
            "name": service,
            "image": props.image,
            "essential": True,
            "readonlyRootFilesystem": True,
            "portMappings": [
                {"containerPort": container_port, "hostPort": container_port, "protocol": "tcp"}
            ],
            "mountPoints": [{"sourceVolume": "scratch", "containerPath": SCRATCH_PATH, "readOnly": False}],
            "environment": [{"name": k, "value": v} for k, v in sorted(props.environment.items())],
            "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(props.secrets.items())],
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
            cpu=str(props.size.cpu),
            memory=str(props.size.memory),
            runtime_platform=EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture=props.size.architecture
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
            subnets=props.alb_subnet_ids,
            drop_invalid_header_fields=True,
            enable_deletion_protection=props.deletion_protection,
            access_logs=LbAccessLogs(
                bucket=props.access_logs.bucket.bucket, prefix=props.access_logs.prefix, enabled=True
            ),
            # ELB checks it may write to the bucket when logging is switched on.
            depends_on=[props.access_logs.policy],
        )
        self.target_group = LbTargetGroup(
            self,
            "tg",
            name=namer.name(service, NameKind.TARGET_GROUP),
            port=container_port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=props.vpc_id,
            deregistration_delay="30",
            health_check=LbTargetGroupHealthCheck(
                enabled=True,
                protocol="HTTP",
                path=props.health_check_path,
                port="traffic-port",
                matcher="200-399",
                interval=15,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
        )
        forward = LbListenerDefaultAction(type="forward", target_group_arn=self.target_group.arn)
        redirect = LbListenerDefaultAction(
            type="redirect",
            redirect=LbListenerDefaultActionRedirect(
                port=str(HTTPS_PORT), protocol="HTTPS", status_code="HTTP_301"
            ),
        )
        certificate_arn = props.certificate_arn
        # Plain HTTP forwards, or with a certificate redirects to HTTPS, which forwards.
        listeners = [
            LbListener(
                self,
                "http",
                load_balancer_arn=self.alb.arn,
                port=HTTP_PORT,
                protocol="HTTP",
                default_action=[forward if certificate_arn is None else redirect],
            )
        ]
        if certificate_arn is not None:
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
            desired_count=props.desired_count,
            launch_type="FARGATE",
            platform_version="LATEST",
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=props.task_subnet_ids,
                security_groups=[self.tasks_sg.id],
                assign_public_ip=props.assign_public_ip,
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
        self, service: ServiceName, vpc_id: str, container_port: int, *, https: bool
    ) -> tuple[SecurityGroup, SecurityGroup]:
        alb_sg, tasks_sg = (
            SecurityGroup(
                self,
                f"{part}-sg",
                name=service.part(part).name(NameKind.SECURITY_GROUP),
                description=description,
                vpc_id=vpc_id,
                tags={"Name": service.part(part).name()},
            )
            for part, description in (
                ("alb", "ALB: HTTP(S) from the internet, out only to the tasks"),
                ("tasks", "tasks: in only from the ALB"),
            )
        )
        anywhere = {"cidr_ipv4": "0.0.0.0/0"}
        # (rule, id, its group, the peer, port, description); the only path is internet -> ALB -> tasks.
        rules = [
            *(
                (
                    VpcSecurityGroupIngressRule,
                    f"alb-in-{port}",
                    alb_sg,
                    anywhere,
                    port,
                    f"public listener {port}",
                )
                for port in ((HTTP_PORT, HTTPS_PORT) if https else (HTTP_PORT,))
            ),
            (
                VpcSecurityGroupEgressRule,
                "alb-out-tasks",
                alb_sg,
                {"referenced_security_group_id": tasks_sg.id},
                container_port,
                "to the tasks",
            ),
            (
                VpcSecurityGroupIngressRule,
                "tasks-in-alb",
                tasks_sg,
                {"referenced_security_group_id": alb_sg.id},
                container_port,
                "from the ALB",
            ),
            (
                VpcSecurityGroupEgressRule,
                "tasks-out-https",
                tasks_sg,
                anywhere,
                HTTPS_PORT,
                "AWS APIs and the image registry over HTTPS",
            ),
        ]
        for rule, rule_id, group, peer, port, description in rules:
            rule(
                self,
                rule_id,
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=description,
                **peer,
            )
        return alb_sg, tasks_sg

    # -- IAM -------------------------------------------------------------------

    def _execution_role(
        self, service: ServiceName, log_group_arn: str, secret_arns: list[str], image: str
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
            name=service.part("exec").name(NameKind.IAM_ROLE),
            service=ECS_TASKS,
            source_account=service.namer.account_id,
            description="ECS task execution: logs, the DB secret, the image",
            grants=grants,
        )

    def _task_role(self, service: ServiceName) -> IamRole:
        """The application's own identity: no permissions until the application needs some."""
        return IamRole(
            self,
            "task-role",
            name=service.part("task").name(NameKind.IAM_ROLE),
            assume_role_policy=assume_role_policy(ECS_TASKS, source_account=service.namer.account_id),
            description="the application's identity (no permissions yet)",
        )
