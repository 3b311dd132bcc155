"""The platform: a VPC, PostgreSQL on RDS and an ECS Fargate service behind an ALB.

Composition only; the pieces live in ``lib/constructs/``. Environment
differences are data (``settings.platform`` in ``environments/*.yaml``).
"""

from __future__ import annotations

from cdktf import Fn, TerraformOutput
from constructs import Construct

from lib.config.settings.platform import PlatformSettings
from lib.constructs.alb_logs import AlbLogsBucket
from lib.constructs.database import DATABASE_NAME, POSTGRES_PORT, Database
from lib.constructs.kms import StackKey
from lib.constructs.network import Network
from lib.constructs.service import FargateService, TaskSize
from lib.constructs.ssm import SsmExports
from lib.constructs.waf import WebAcl
from lib.stacks.base import StackContext, TapStack

SSM_SYSTEM = "platform"


class PlatformStack(TapStack):
    def __init__(self, scope: Construct, *, ctx: StackContext) -> None:
        super().__init__(scope, ctx=ctx)
        settings = ctx.settings_as(PlatformSettings)
        namer = self.namer
        # One switch for everything that makes tearing down hard: an environment
        # the workflows may destroy skips the final snapshot and has no deletion
        # protection; one they may not keeps both.
        destroyable = ctx.env.protection.destroy_allowed

        # Encrypts flow logs, DB logs, container logs and Performance Insights data.
        key = StackKey(
            self,
            "key",
            namer=namer,
            service="plat-key",
            description=f"platform data at rest ({namer.name('platform')}): logs, Performance Insights",
            deletion_window_days=7 if destroyable else 30,
        )
        network = Network(
            self,
            "network",
            namer=namer,
            cidr=settings.vpc_cidr,
            nat_gateway=settings.nat_gateway,
            logs_key_arn=key.arn,
            log_retention_days=settings.log_retention_days,
        )
        database = Database(
            self,
            "database",
            namer=namer,
            vpc_id=network.vpc.id,
            subnet_ids=network.private_subnet_ids,
            instance_class=settings.db_instance_class,
            engine_version=settings.db_engine_version,
            allocated_storage_gb=settings.db_allocated_storage_gb,
            max_allocated_storage_gb=settings.db_max_allocated_storage_gb,
            multi_az=settings.multi_az,
            backup_retention_days=settings.backup_retention_days,
            deletion_protection=not destroyable,
            skip_final_snapshot=destroyable,
            monitoring_interval=settings.db_monitoring_interval,
            kms_key_arn=key.arn,
            log_retention_days=settings.log_retention_days,
        )
        alb_logs = AlbLogsBucket(
            self,
            "alb-logs",
            namer=namer,
            service="alb-logs",
            prefix=settings.service_name,
            retention_days=settings.log_retention_days,
            force_destroy=destroyable,
        )
        # Without a NAT gateway private subnets have no way out, so tasks run in the
        # public subnets with a public IP; their security group still admits only the ALB.
        service = FargateService(
            self,
            "service",
            namer=namer,
            service=settings.service_name,
            vpc_id=network.vpc.id,
            alb_subnet_ids=network.public_subnet_ids,
            task_subnet_ids=network.private_subnet_ids if settings.nat_gateway else network.public_subnet_ids,
            assign_public_ip=not settings.nat_gateway,
            size=TaskSize(
                cpu=settings.task_cpu, memory=settings.task_memory, architecture=settings.cpu_architecture
            ),
            desired_count=settings.desired_count,
            image=settings.container_image,
            container_port=settings.container_port,
            health_check_path=settings.health_check_path,
            certificate_arn=settings.certificate_arn,
            deletion_protection=not destroyable,
            access_logs=alb_logs,
            logs_key_arn=key.arn,
            log_retention_days=settings.log_retention_days,
            environment={
                "DB_HOST": database.instance.address,
                "DB_PORT": str(POSTGRES_PORT),
                "DB_NAME": DATABASE_NAME,
            },
            secrets={
                "DB_USERNAME": f"{database.secret_arn}:username::",
                "DB_PASSWORD": f"{database.secret_arn}:password::",
            },
            secret_arns=[database.secret_arn],
        )
        WebAcl(
            self,
            "waf",
            namer=namer,
            service=f"{settings.service_name}-waf",
            resource_arn=service.alb.arn,
            logs_key_arn=key.arn,
            log_retention_days=settings.log_retention_days,
        )
        database.allow_from("tasks", security_group_id=service.tasks_sg.id, description="from the ECS tasks")

        # For other stacks and teams: /<project>/<suffix>/platform/<key> (none is secret;
        # db-secret-arn names the secret, readers still need secretsmanager:GetSecretValue).
        SsmExports(
            self,
            "exports",
            namer=namer,
            system=SSM_SYSTEM,
            description_prefix="platform",
            values={
                "vpc-id": network.vpc.id,
                "public-subnet-ids": Fn.join(",", network.public_subnet_ids),
                "private-subnet-ids": Fn.join(",", network.private_subnet_ids),
                "cluster-name": service.cluster.name,
                "alb-dns-name": service.alb.dns_name,
                "db-endpoint": database.instance.endpoint,
                "db-secret-arn": database.secret_arn,
            },
        )

        TerraformOutput(self, "PlatformVpcId", value=network.vpc.id)
        TerraformOutput(self, "PublicSubnetIds", value=network.public_subnet_ids)
        TerraformOutput(self, "PrivateSubnetIds", value=network.private_subnet_ids)
        TerraformOutput(self, "AlbDnsName", value=service.alb.dns_name)
        TerraformOutput(self, "EcsClusterName", value=service.cluster.name)
        TerraformOutput(self, "EcsServiceName", value=service.service.name)
        TerraformOutput(self, "DbEndpoint", value=database.instance.endpoint)
        TerraformOutput(self, "PlatformSsmPrefix", value=namer.ssm_path(SSM_SYSTEM))
