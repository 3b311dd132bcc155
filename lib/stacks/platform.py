"""The platform: a VPC, PostgreSQL on RDS and an ECS Fargate service behind an ALB.

Composition only; the pieces live in ``lib/constructs/``. Environment
differences are data (``settings.platform`` in ``environments/*.yaml``).
"""

from __future__ import annotations

from cdktf import Fn, TerraformOutput
from constructs import Construct

from lib.config.settings.platform import PlatformSettings
from lib.constructs.alb_logs import AlbLogsBucket, AlbLogsBucketProps
from lib.constructs.database import DATABASE_NAME, POSTGRES_PORT, Database
from lib.constructs.kms import StackKey, StackKeyProps
from lib.constructs.network import Network
from lib.constructs.service import FargateService, FargateServiceProps, TaskSize
from lib.constructs.ssm import SsmExports, SsmExportsProps
from lib.constructs.waf import WebAcl, WebAclProps
from lib.stacks.base import StackContext, TapStack

SSM_SYSTEM = "platform"


class PlatformStack(TapStack):
    """One switch for everything that makes tearing down hard (:attr:`destroyable`): an
    environment the workflows may destroy skips the final snapshot and has no deletion
    protection; one they may not keeps both."""

    settings: PlatformSettings

    def __init__(self, scope: Construct, *, ctx: StackContext[PlatformSettings]) -> None:
        super().__init__(scope, ctx=ctx)
        settings, namer = self.settings, self.namer
        # Encrypts flow logs, DB logs, container logs and Performance Insights data.
        self.key = StackKey(
            self,
            "key",
            StackKeyProps(
                service=namer.for_service("plat-key"),
                description=f"platform data at rest ({namer.name('platform')}): logs, Performance Insights",
                deletion_window_days=7 if self.destroyable else 30,
            ),
        )
        self.network = Network(
            self,
            "network",
            namer=namer,
            cidr=settings.vpc_cidr,
            nat_gateway=settings.nat_gateway,
            logs_key_arn=self.key.arn,
            log_retention_days=settings.log_retention_days,
        )
        self.database = self._database()
        self.service = self._service()
        WebAcl(
            self,
            "waf",
            WebAclProps(
                service=namer.for_service(f"{settings.service_name}-waf"),
                resource_arn=self.service.alb.arn,
                logs_key_arn=self.key.arn,
                log_retention_days=settings.log_retention_days,
            ),
        )
        self.database.allow_from(
            "tasks", security_group_id=self.service.tasks_sg.id, description="from the ECS tasks"
        )
        self._exports()

    # -- sections -------------------------------------------------------------------
    def _database(self) -> Database:
        settings, network = self.settings, self.network
        return Database(
            self,
            "database",
            namer=self.namer,
            vpc_id=network.vpc.id,
            subnet_ids=network.private_subnet_ids,
            instance_class=settings.db_instance_class,
            engine_version=settings.db_engine_version,
            allocated_storage_gb=settings.db_allocated_storage_gb,
            max_allocated_storage_gb=settings.db_max_allocated_storage_gb,
            multi_az=settings.multi_az,
            backup_retention_days=settings.backup_retention_days,
            deletion_protection=not self.destroyable,
            skip_final_snapshot=self.destroyable,
            monitoring_interval=settings.db_monitoring_interval,
            kms_key_arn=self.key.arn,
            log_retention_days=settings.log_retention_days,
        )

    def _service(self) -> FargateService:
        """The containers behind an ALB (which logs to its own bucket), reading the database."""
        settings, network, database = self.settings, self.network, self.database
        alb_logs = AlbLogsBucket(
            self,
            "alb-logs",
            AlbLogsBucketProps(
                service=self.namer.for_service("alb-logs"),
                prefix=settings.service_name,
                retention_days=settings.log_retention_days,
                force_destroy=self.destroyable,
            ),
        )
        # Without a NAT gateway private subnets have no way out, so tasks run in the
        # public subnets with a public IP; their security group still admits only the ALB.
        props = FargateServiceProps(
            service=self.namer.for_service(settings.service_name),
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
            deletion_protection=not self.destroyable,
            access_logs=alb_logs,
            logs_key_arn=self.key.arn,
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
        return FargateService(self, "service", props)

    def _exports(self) -> None:
        network, service, database, namer = self.network, self.service, self.database, self.namer
        # For other stacks and teams: /<project>/<suffix>/platform/<key> (none is secret;
        # db-secret-arn names the secret, readers still need secretsmanager:GetSecretValue).
        exports = {
            "vpc-id": network.vpc.id,
            "public-subnet-ids": Fn.join(",", network.public_subnet_ids),
            "private-subnet-ids": Fn.join(",", network.private_subnet_ids),
            "cluster-name": service.cluster.name,
            "alb-dns-name": service.alb.dns_name,
            "db-endpoint": database.instance.endpoint,
            "db-secret-arn": database.secret_arn,
        }
        props = SsmExportsProps(namer=namer, system=SSM_SYSTEM, values=exports, description_prefix="platform")
        SsmExports(self, "exports", props)
        TerraformOutput(self, "PlatformVpcId", value=network.vpc.id)
        TerraformOutput(self, "PublicSubnetIds", value=network.public_subnet_ids)
        TerraformOutput(self, "PrivateSubnetIds", value=network.private_subnet_ids)
        TerraformOutput(self, "AlbDnsName", value=service.alb.dns_name)
        TerraformOutput(self, "EcsClusterName", value=service.cluster.name)
        TerraformOutput(self, "EcsServiceName", value=service.service.name)
        TerraformOutput(self, "DbEndpoint", value=database.instance.endpoint)
        TerraformOutput(self, "PlatformSsmPrefix", value=namer.ssm_path(SSM_SYSTEM))
