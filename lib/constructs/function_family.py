"""The zip functions of one system, built alike, and the layer they share.

A :class:`FunctionFamily` holds what a system's functions share (their scope, the
system's code directory ``lib/lambda/<system>/``, shared layer, KMS key, dead-letter
queue, log retention, memory, optional VPC placement); :meth:`FunctionFamily.function`
packages one function's directory and builds its :class:`LambdaFunction` beside the
package, in the family's scope. :func:`system_layer` builds the shared layer from a
folder of the system's code directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.lambda_layer_version import LambdaLayerVersion
from constructs import Construct

from lib.constructs.iam import Grant
from lib.constructs.lambda_function import (
    LambdaFunction,
    LambdaFunctionProps,
    LambdaZip,
    VpcPlacement,
    python_layer,
)
from lib.constructs.packaging import LAMBDA_ROOT, as_asset, function_package, zip_layer
from lib.naming import NameKind, Namer


@dataclass(frozen=True)
class FunctionSpec:
    """One function of a family: what it does, what it is given and may touch, how long it
    may run."""

    description: str
    environment: Mapping[str, str]
    grants: Sequence[Grant]
    timeout_seconds: int


@dataclass(frozen=True)
class FunctionFamily:
    """What a system's functions share; each function adds its own inputs."""

    scope: Construct
    namer: Namer
    #: The folder under ``lib/lambda/`` holding one folder per function.
    system: str
    layer_arn: str
    #: Encrypts the functions' environment variables and log groups.
    key_arn: str
    dead_letter_queue_arn: str
    log_retention_days: int
    memory_mb: int
    runtime: str = "python3.12"
    #: Construct id of a function's package; ``{function}`` is the function's folder.
    package_id: str = "{function}-package"
    vpc: VpcPlacement | None = None

    def function(
        self,
        id_: str,
        *,
        function: str,
        service: str,
        description: str,
        environment: Mapping[str, str],
        grants: Sequence[Grant],
        timeout_seconds: int,
        reserved_concurrency: int | None,
    ) -> LambdaFunction:
        """``lib/lambda/<system>/<function>/`` as the function ``namer.name(service)``."""
        package = function_package(
            self.scope, self.package_id.format(function=function), system=self.system, function=function
        )
        props = LambdaFunctionProps(
            service=self.namer.for_service(service),
            description=description,
            code=LambdaZip(package=package, runtime=self.runtime),
            layers=[self.layer_arn],
            environment=environment,
            grants=grants,
            memory_mb=self.memory_mb,
            timeout_seconds=timeout_seconds,
            reserved_concurrency=reserved_concurrency,
            log_retention_days=self.log_retention_days,
            dead_letter_queue_arn=self.dead_letter_queue_arn,
            log_kms_key_arn=self.key_arn,
            kms_key_arn=self.key_arn,
            vpc=self.vpc,
        )
        return LambdaFunction(self.scope, id_, props)

    def functions(
        self,
        specs: Mapping[str, FunctionSpec],
        *,
        prefix: str,
        grants: Sequence[Grant],
        reserved_concurrency: int | None,
    ) -> dict[str, LambdaFunction]:
        """One function per entry: its folder is also its construct id, its name is
        ``<prefix>-<folder>``; each is granted its own grants and then ``grants``."""
        return {
            name: self.function(
                name,
                function=name,
                service=f"{prefix}-{name}",
                description=spec.description,
                environment=spec.environment,
                grants=[*spec.grants, *grants],
                timeout_seconds=spec.timeout_seconds,
                reserved_concurrency=reserved_concurrency,
            )
            for name, spec in specs.items()
        }


@dataclass(frozen=True)
class SharedLayer:
    """The layer of a system's functions: ``lib/lambda/<system>/<folder>/`` (plus, with
    requirements, what its ``requirements.txt`` installs), named after ``service``."""

    service: str
    description: str
    folder: str = "layer"
    with_requirements: bool = True
    #: Construct ids of the layer and of its package.
    id_: str = "layer"
    package_id: str = "layer-package"


def system_layer(
    scope: Construct, layer: SharedLayer, *, namer: Namer, system: str, runtime: str
) -> LambdaLayerVersion:
    """``layer`` of ``lib/lambda/<system>/``, packaged beside the layer."""
    source = LAMBDA_ROOT / system / layer.folder
    requirements = source / "requirements.txt" if layer.with_requirements else None
    built = zip_layer(source, label=f"{system}-{layer.folder}", requirements=requirements)
    package = as_asset(scope, layer.package_id, built)
    return python_layer(
        scope,
        layer.id_,
        name=namer.name(layer.service, NameKind.LAMBDA_LAYER),
        description=layer.description,
        package=package,
        runtime=runtime,
    )
