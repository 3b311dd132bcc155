"""Validated scalar types shared by the environment model."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo

from lib.naming import REGION_CODES

AccountId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{12}$"),
]


def _region(value: str) -> str:
    if value not in REGION_CODES:
        raise ValueError(
            f"unknown AWS region {value!r}; supported regions: {', '.join(sorted(REGION_CODES))}"
        )
    return value


def _cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR block ({exc})") from None
    if not 16 <= net.prefixlen <= 24:
        raise ValueError(f"{value!r}: a VPC CIDR prefix must be between /16 and /24")
    return value


Region = Annotated[str, AfterValidator(_region)]
Cidr = Annotated[str, AfterValidator(_cidr)]
IamRoleArn = Annotated[
    str,
    StringConstraints(pattern=r"^arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,64}$"),
]
BucketName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
]
BranchName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,100}$")]


def _repository(value: str) -> str:
    if value.partition("/")[2] in (".", ".."):
        raise ValueError(f"{value!r} is not OWNER/REPO: the repository name cannot be '.' or '..'")
    return value


#: A GitHub repository, ``OWNER/REPO`` (GitHub's own character set).
RepositoryName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,39}/[A-Za-z0-9_.-]{1,100}$"),
    AfterValidator(_repository),
]


#: Every retention period (days) CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def _log_retention(value: int, info: ValidationInfo) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"{info.field_name or 'log retention'} {value} is not accepted by CloudWatch Logs; "
            f"choose one of {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    return value


#: The retention of a log group, in days: what every settings model's ``log_retention_days`` is.
LogRetentionDays = Annotated[int, AfterValidator(_log_retention)]


# -- what AWS accepts of a Lambda function and of an API stage's throttle -----------------
#: A function's memory, in MB.
FunctionMemoryMb = Annotated[int, Field(ge=128, le=10240)]
#: A function's timeout, in seconds (Lambda's longest: 15 minutes).
FunctionTimeoutSeconds = Annotated[int, Field(ge=1, le=900)]
#: A function's reserved concurrency (0 would disable it).
ReservedConcurrency = Annotated[int, Field(ge=1, le=1000)]
#: Steady requests per second of an API stage or usage plan.
RateLimit = Annotated[float, Field(gt=0, le=10000)]
#: Burst of requests of an API stage or usage plan.
BurstLimit = Annotated[int, Field(ge=1, le=5000)]
