"""SSM Parameter Store exports: values other stacks (and people) may read.

Parameters live under ``namer.ssm_path(system, key)`` =
``/{project}/{suffix}/{system}/{key}``; readers need only the project,
suffix, system and key, never a stack's internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct

from lib.naming import Namer


@dataclass(frozen=True)
class SsmExportsProps:
    """``values`` (key -> value) exported under ``namer.ssm_path(system, key)``, each
    described as ``<description_prefix or system>: <key>``."""

    namer: Namer
    system: str
    values: Mapping[str, str]
    description_prefix: str = ""

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"SSM exports of {self.system!r} hold no values")


class SsmExports(Construct):
    """One ``String`` parameter per entry of ``values``."""

    def __init__(self, scope: Construct, id_: str, props: SsmExportsProps) -> None:
        super().__init__(scope, id_)
        namer, system, values = props.namer, props.system, props.values
        self.parameters: dict[str, SsmParameter] = {}
        for key in sorted(values):
            self.parameters[key] = SsmParameter(
                self,
                key,
                name=namer.ssm_path(system, key),
                type="String",
                value=values[key],
                description=f"{props.description_prefix or system}: {key}",
            )

    def arns(self) -> list[str]:
        return [p.arn for p in self.parameters.values()]

    def names(self) -> dict[str, str]:
        return {key: p.name for key, p in self.parameters.items()}


def secure_parameter(
    scope: Construct,
    id_: str,
    *,
    name: str,
    value: str,
    kms_key_arn: str,
    description: str,
) -> SsmParameter:
    """A ``SecureString`` whose value comes from another resource (never a literal secret)."""
    return SsmParameter(
        scope,
        id_,
        name=name,
        type="SecureString",
        value=value,
        key_id=kms_key_arn,
        description=description,
    )
