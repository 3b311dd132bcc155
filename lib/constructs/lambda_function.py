"""A Lambda function with its own log group, role, tracing and guard rails.

What every function built here gets:

* ``arm64`` unless told otherwise;
* its own log group ``/aws/lambda/<name>`` with a retention, created *before*
  the function (so Lambda never creates an unmanaged, never-expiring one);
* X-Ray active tracing;
* a role whose one inline policy is the caller's explicit :class:`Grant` s
  plus what the function itself needs (write its logs, send traces, reach
  its dead-letter queue, manage its ENIs inside a VPC);
* optional dead-letter queue, reserved concurrency, VPC placement,
  environment variables (optionally KMS-encrypted) and layers.

The code source is an input: :class:`LambdaZip` (a package from
:mod:`lib.constructs.packaging`, with handler and runtime) or
:class:`LambdaImage` (a container image URI).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction as LambdaFunctionResource,
)
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionImageConfig,
    LambdaFunctionTracingConfig,
    LambdaFunctionVpcConfig,
)
from cdktf_cdktf_provider_aws.lambda_layer_version import LambdaLayerVersion
from constructs import Construct

from lib.config.types import LOG_RETENTION_DAYS
from lib.constructs.forwarded import Forwarded
from lib.constructs.iam import Grant, ServiceRole
from lib.constructs.packaging import LambdaPackage
from lib.naming import NameKind, ServiceName

__all__ = [
    "Grant",
    "LambdaFunction",
    "LambdaFunctionError",
    "LambdaFunctionProps",
    "LambdaImage",
    "LambdaZip",
    "VpcPlacement",
    "python_layer",
]

ARCHITECTURES = ("arm64", "x86_64")
_ENV_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: Variables the Lambda runtime sets itself; setting them is an error in AWS.
_RESERVED_ENV = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})  # fmt: skip


class LambdaFunctionError(ValueError):
    """Invalid inputs to :class:`LambdaFunction`."""


@dataclass(frozen=True)
class LambdaZip:
    """Code from a zip package (``packaging.function_package``)."""

    package: LambdaPackage
    #: ``module.function`` inside the package, e.g. ``handler.handler``.
    handler: str = "handler.handler"
    runtime: str = "python3.12"


@dataclass(frozen=True)
class LambdaImage:
    """Code from a container image (``package_type = "Image"``)."""

    image_uri: str
    command: Sequence[str] = ()
    entry_point: Sequence[str] = ()
    working_directory: str | None = None


@dataclass(frozen=True)
class VpcPlacement:
    """Run the function inside a VPC (private subnets + security groups)."""

    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]


@dataclass(frozen=True)
class LambdaFunctionProps:
    """What a :class:`LambdaFunction` is made of; refused (:class:`LambdaFunctionError`)
    when built with a value AWS would refuse."""

    #: Names the function (``NameKind.LAMBDA``), its role and its log group.
    service: ServiceName
    code: LambdaZip | LambdaImage
    log_retention_days: int
    #: What the function may do besides its own needs (logs, traces, DLQ, key, ENIs).
    grants: Sequence[Grant] = ()
    environment: Mapping[str, str] | None = None
    description: str | None = None
    architecture: str = "arm64"
    memory_mb: int = 256
    timeout_seconds: int = 30
    reserved_concurrency: int | None = None
    dead_letter_queue_arn: str | None = None
    vpc: VpcPlacement | None = None
    layers: Sequence[str] = ()
    tracing: bool = True
    #: Encrypts the environment variables.
    kms_key_arn: str | None = None
    #: Encrypts the log group.
    log_kms_key_arn: str | None = None

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise LambdaFunctionError(
                f"architecture {self.architecture!r} is not one of {', '.join(ARCHITECTURES)}"
            )
        if not 128 <= self.memory_mb <= 10240:
            raise LambdaFunctionError(f"memory_mb {self.memory_mb} is outside 128-10240")
        if not 1 <= self.timeout_seconds <= 900:
            raise LambdaFunctionError(f"timeout_seconds {self.timeout_seconds} is outside 1-900")
        if self.reserved_concurrency is not None and self.reserved_concurrency < 0:
            raise LambdaFunctionError(f"reserved_concurrency {self.reserved_concurrency} is negative")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise LambdaFunctionError(
                f"log_retention_days {self.log_retention_days} is not a CloudWatch retention value "
                f"({', '.join(map(str, LOG_RETENTION_DAYS))})"
            )
        for key in self.environment or {}:
            if not _ENV_KEY.match(key):
                raise LambdaFunctionError(f"environment variable name {key!r} is invalid")
            if key in _RESERVED_ENV:
                raise LambdaFunctionError(f"environment variable {key!r} is reserved by the Lambda runtime")
        if isinstance(self.code, LambdaImage) and self.layers:
            raise LambdaFunctionError("container image functions cannot use layers; bake them into the image")


class LambdaFunction(Construct):
    """One Lambda function with its log group and least-privilege role."""

    def __init__(self, scope: Construct, id_: str, props: LambdaFunctionProps) -> None:
        super().__init__(scope, id_)
        service, code, vpc = props.service, props.code, props.vpc
        env = dict(props.environment or {})
        dead_letter_queue_arn, kms_key_arn = props.dead_letter_queue_arn, props.kms_key_arn

        self.function_name = service.name(NameKind.LAMBDA)
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=f"/aws/lambda/{self.function_name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.log_kms_key_arn,
        )

        own = [
            Grant(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.log_group.arn}:*"],
            )
        ]
        if props.tracing:
            own.append(
                Grant(
                    actions=["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                    resources=["*"],
                    reason="X-Ray trace APIs have no resource-level permissions",
                )
            )
        if dead_letter_queue_arn is not None:
            own.append(Grant(actions=["sqs:SendMessage"], resources=[dead_letter_queue_arn]))
        if kms_key_arn is not None:
            own.append(Grant(actions=["kms:Decrypt"], resources=[kms_key_arn]))
        if vpc is not None:
            own.append(
                Grant(
                    actions=[
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:CreateNetworkInterface",
                        "ec2:DeleteNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                    reason="Lambda's ENI management needs '*' (as in AWSLambdaVPCAccessExecutionRole)",
                )
            )
        self.role = ServiceRole(
            self,
            "role",
            name=service.name(NameKind.IAM_ROLE),
            service="lambda.amazonaws.com",
            grants=[*own, *props.grants],
            description=f"Execution role of Lambda {self.function_name}",
        )

        if isinstance(code, LambdaZip):
            code_args: dict[str, object] = {
                "package_type": "Zip",
                "filename": code.package.filename,
                "source_code_hash": code.package.source_code_hash,
                "handler": code.handler,
                "runtime": code.runtime,
                "layers": list(props.layers) or None,
            }
        else:
            image_config = None
            if code.command or code.entry_point or code.working_directory:
                image_config = LambdaFunctionImageConfig(
                    command=list(code.command) or None,
                    entry_point=list(code.entry_point) or None,
                    working_directory=code.working_directory,
                )
            code_args = {"package_type": "Image", "image_uri": code.image_uri, "image_config": image_config}

        self.function = LambdaFunctionResource(
            self,
            "function",
            function_name=self.function_name,
            description=props.description,
            role=self.role.arn,
            architectures=[props.architecture],
            memory_size=props.memory_mb,
            timeout=props.timeout_seconds,
            reserved_concurrent_executions=props.reserved_concurrency,
            environment=LambdaFunctionEnvironment(variables=env) if env else None,
            kms_key_arn=kms_key_arn,
            tracing_config=LambdaFunctionTracingConfig(mode="Active" if props.tracing else "PassThrough"),
            dead_letter_config=(
                LambdaFunctionDeadLetterConfig(target_arn=dead_letter_queue_arn)
                if dead_letter_queue_arn is not None
                else None
            ),
            vpc_config=(
                LambdaFunctionVpcConfig(
                    subnet_ids=list(vpc.subnet_ids), security_group_ids=list(vpc.security_group_ids)
                )
                if vpc is not None
                else None
            ),
            # The log group (with its retention) and the role's policy exist first.
            depends_on=[self.log_group, self.role.policy],
            **code_args,  # type: ignore[arg-type]
        )

    arn = Forwarded("function", "arn")
    name = Forwarded("function", "function_name")
    invoke_arn = Forwarded("function", "invoke_arn")
    role_arn = Forwarded("role", "arn")


def python_layer(
    scope: Construct,
    id_: str,
    *,
    name: str,
    description: str,
    package: LambdaPackage,
    runtime: str = "python3.12",
    architecture: str = "arm64",
) -> LambdaLayerVersion:
    """A layer of code several functions share, from a package built by
    :func:`lib.constructs.packaging.zip_layer` (created in ``scope``, under ``id_``)."""
    if architecture not in ARCHITECTURES:
        raise LambdaFunctionError(f"architecture {architecture!r} is not one of {', '.join(ARCHITECTURES)}")
    return LambdaLayerVersion(
        scope,
        id_,
        layer_name=name,
        description=description,
        filename=package.filename,
        source_code_hash=package.source_code_hash,
        compatible_runtimes=[runtime],
        compatible_architectures=[architecture],
    )
