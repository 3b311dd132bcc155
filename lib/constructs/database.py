"""PostgreSQL on RDS in private subnets, reachable only from the security groups allowed in."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from lib.constructs.iam import Grant, ServiceRole
from lib.naming import NameKind, Namer

POSTGRES_PORT = 5432
DATABASE_NAME = "app"
MASTER_USERNAME = "app_admin"
#: Logs RDS exports to CloudWatch; their groups are created here first so that
#: retention and encryption are ours, not RDS's never-expire defaults.
LOG_EXPORTS = ("postgresql", "upgrade")
#: Performance Insights' free retention.
PERFORMANCE_INSIGHTS_DAYS = 7
#: Enhanced monitoring writes OS metrics to this one log group (what the AWS
#: managed policy AmazonRDSEnhancedMonitoringRole allows, as explicit grants).
MONITORING_LOG_GROUP = "RDSOSMetrics"


class Database(Construct):
    """An encrypted PostgreSQL instance whose master password AWS manages in Secrets Manager.

    No password exists in code, in the synthesized JSON or in Terraform state:
    ``manage_master_user_password`` makes RDS create and rotate the secret.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        namer: Namer,
        vpc_id: str,
        subnet_ids: list[str],
        instance_class: str,
        engine_version: str,
        allocated_storage_gb: int,
        max_allocated_storage_gb: int,
        multi_az: bool,
        backup_retention_days: int,
        deletion_protection: bool,
        skip_final_snapshot: bool,
        monitoring_interval: int,
        kms_key_arn: str,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, id)
        identifier = namer.name("plat-db", NameKind.RDS_INSTANCE)
        self.security_group = SecurityGroup(
            self,
            "sg",
            name=namer.name("plat-db", NameKind.SECURITY_GROUP),
            description="PostgreSQL: ingress only from the security groups allowed in",
            vpc_id=vpc_id,
            tags={"Name": namer.name("plat-db")},
        )
        subnet_group = DbSubnetGroup(
            self,
            "subnets",
            name=namer.name("plat-db"),
            description="private subnets only",
            subnet_ids=subnet_ids,
        )
        params = DbParameterGroup(
            self,
            "params",
            name=namer.name("plat-db"),
            family=f"postgres{engine_version}",
            description="TLS required, DDL and slow statements logged",
            parameter=[
                DbParameterGroupParameter(name="rds.force_ssl", value="1"),
                DbParameterGroupParameter(name="log_statement", value="ddl"),
                DbParameterGroupParameter(name="log_min_duration_statement", value="1000"),
            ],
        )
        log_groups = [
            CloudwatchLogGroup(
                self,
                f"log-{kind}",
                name=f"/aws/rds/instance/{identifier}/{kind}",
                retention_in_days=log_retention_days,
                kms_key_id=kms_key_arn,
            )
            for kind in LOG_EXPORTS
        ]
        monitoring_role_arn = None
        if monitoring_interval:
            monitoring_role_arn = self._monitoring_role(namer).arn

        self.instance = DbInstance(
            self,
            "instance",
            identifier=identifier,
            engine="postgres",
            engine_version=engine_version,
            instance_class=instance_class,
            allocated_storage=allocated_storage_gb,
            max_allocated_storage=max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=DATABASE_NAME,
            username=MASTER_USERNAME,
            manage_master_user_password=True,
            port=POSTGRES_PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=params.name,
            publicly_accessible=False,
            multi_az=multi_az,
            backup_retention_period=backup_retention_days,
            deletion_protection=deletion_protection,
            skip_final_snapshot=skip_final_snapshot,
            final_snapshot_identifier=None if skip_final_snapshot else namer.name("plat-db-final"),
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            iam_database_authentication_enabled=True,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            monitoring_interval=monitoring_interval,
            monitoring_role_arn=monitoring_role_arn,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=kms_key_arn,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_DAYS,
            depends_on=log_groups,
        )

    @property
    def secret_arn(self) -> str:
        """The Secrets Manager secret RDS keeps the master credentials in."""
        return self.instance.master_user_secret.get(0).secret_arn

    def allow_from(self, id: str, *, security_group_id: str, description: str) -> None:
        """Let ``security_group_id`` reach PostgreSQL: ingress here, egress there."""
        VpcSecurityGroupIngressRule(
            self,
            f"{id}-in",
            security_group_id=self.security_group.id,
            referenced_security_group_id=security_group_id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description=description,
        )
        VpcSecurityGroupEgressRule(
            self,
            f"{id}-out",
            security_group_id=security_group_id,
            referenced_security_group_id=self.security_group.id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description="to PostgreSQL",
        )

    def _monitoring_role(self, namer: Namer) -> ServiceRole:
        group = f"arn:aws:logs:{namer.region}:{namer.account_id}:log-group:{MONITORING_LOG_GROUP}"
        return ServiceRole(
            self,
            "monitoring-role",
            name=namer.name("plat-db-mon", NameKind.IAM_ROLE),
            service="monitoring.rds.amazonaws.com",
            source_account=namer.account_id,
            description="RDS enhanced monitoring: OS metrics to the RDSOSMetrics log group",
            grants=[
                Grant(actions=["logs:CreateLogGroup", "logs:PutRetentionPolicy"], resources=[group]),
                Grant(
                    actions=[
                        "logs:CreateLogStream",
                        "logs:DescribeLogStreams",
                        "logs:GetLogEvents",
                        "logs:PutLogEvents",
                    ],
                    resources=[f"{group}:log-stream:*"],
                ),
            ],
        )
