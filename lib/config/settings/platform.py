"""Settings of the platform stack: VPC, PostgreSQL on RDS, ECS Fargate behind an ALB.

Shared values live in ``environments/defaults.yaml`` under ``settings.platform``;
each environment file holds only what differs. Deletion protection and the
final DB snapshot are not settings: they follow ``protection.destroy_allowed``
(see ``docs/stacks/platform.md``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from lib.config.settings.base import StackSettings
from lib.config.types import Cidr, LogRetentionDays

#: Valid Fargate task sizes: CPU units -> allowed memory (MiB).
#: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

#: Intervals RDS enhanced monitoring accepts (0 turns it off).
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)


def _memory_choices(cpu: int) -> str:
    sizes = FARGATE_SIZES[cpu]
    if len(sizes) <= 3:
        return ", ".join(str(m) for m in sizes)
    step = sizes[1] - sizes[0]
    return f"{sizes[0]}-{sizes[-1]} in steps of {step}"


class PlatformSettings(StackSettings):
    # -- network -------------------------------------------------------------
    #: The VPC block; every environment sets its own (the loader rejects overlaps
    #: with any other ``*cidr`` setting of any stack in any environment file).
    vpc_cidr: Cidr
    #: One NAT gateway for the private subnets. Without it tasks run in the
    #: public subnets with a public IP (still reachable only through the ALB).
    nat_gateway: bool = False

    # -- database ------------------------------------------------------------
    db_instance_class: str = Field(default="db.t3.micro", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    #: PostgreSQL major version; the parameter group family follows it.
    db_engine_version: str = Field(default="16", pattern=r"^[0-9]{2}$")
    db_allocated_storage_gb: int = Field(default=20, ge=20, le=65536)
    db_max_allocated_storage_gb: int = Field(default=100, ge=20, le=65536)
    multi_az: bool = False
    backup_retention_days: int = Field(default=1, ge=1, le=35)
    #: Enhanced monitoring interval in seconds (0 = off).
    db_monitoring_interval: int = 60

    # -- containers ----------------------------------------------------------
    #: Short service name: it is part of the ALB and target-group names (32 characters).
    service_name: str = Field(default="web", pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$")
    task_cpu: int = 256
    task_memory: int = 512
    desired_count: int = Field(default=1, ge=1, le=100)
    cpu_architecture: Literal["X86_64", "ARM64"] = "X86_64"
    container_image: str = Field(
        default="public.ecr.aws/nginx/nginx-unprivileged:1.27-alpine", pattern=r"^\S+$"
    )
    container_port: int = Field(default=8080, ge=1, le=65535)
    health_check_path: str = Field(default="/", pattern=r"^/\S*$")
    #: An ACM certificate ARN: adds an HTTPS listener and redirects HTTP to it.
    certificate_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$"
    )
    log_retention_days: LogRetentionDays = 14

    @model_validator(mode="after")
    def _check(self) -> PlatformSettings:
        if self.task_cpu not in FARGATE_SIZES:
            raise ValueError(
                f"task_cpu {self.task_cpu} is not a Fargate CPU size; "
                f"choose one of {', '.join(str(c) for c in FARGATE_SIZES)}"
            )
        if self.task_memory not in FARGATE_SIZES[self.task_cpu]:
            raise ValueError(
                f"task_cpu {self.task_cpu} with task_memory {self.task_memory} is not a valid "
                f"Fargate combination; with {self.task_cpu} CPU units task_memory (MiB) must be "
                f"{_memory_choices(self.task_cpu)}"
            )
        if self.db_monitoring_interval not in MONITORING_INTERVALS:
            raise ValueError(
                f"db_monitoring_interval {self.db_monitoring_interval} is not accepted by RDS; "
                f"choose one of {', '.join(str(i) for i in MONITORING_INTERVALS)}"
            )
        if self.db_max_allocated_storage_gb < self.db_allocated_storage_gb:
            raise ValueError(
                f"db_max_allocated_storage_gb {self.db_max_allocated_storage_gb} is below "
                f"db_allocated_storage_gb {self.db_allocated_storage_gb}"
            )
        return self
