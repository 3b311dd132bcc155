"""Where Terraform and boto3 point: the embedded AWS (default) or real AWS.

The choice changes environment variables of child processes only; the
synthesized Terraform is identical for both. Real AWS is never a fallback:
it must be asked for with ``--cloud aws`` or ``TAP_CLOUD=aws``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from scripts.tapctl.core import emulator_process, paths
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.core.terraform_setup import write_cli_config

CLOUDS = ("emulator", "aws")
#: Variables that would leak a real identity into an emulator run.
_AWS_IDENTITY_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
)


def default_cloud() -> str:
    cloud = os.environ.get("TAP_CLOUD", "emulator")
    if cloud not in CLOUDS:
        raise TapError(f"TAP_CLOUD={cloud!r} is not a cloud: use one of {', '.join(CLOUDS)}")
    return cloud


@dataclass(frozen=True)
class Cloud:
    kind: str
    env: dict[str, str]

    @property
    def is_emulator(self) -> bool:
        return self.kind == "emulator"

    def client(self, service: str, region: str) -> Any:
        """A boto3 client in this process that acts as the child processes do (same endpoint and keys)."""
        import boto3

        kwargs: dict[str, Any] = {"region_name": region}
        if self.is_emulator:
            kwargs.update(
                endpoint_url=self.env["AWS_ENDPOINT_URL"],
                aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            )
        return boto3.client(service, **kwargs)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        TF_CLI_CONFIG_FILE=str(write_cli_config(paths.workdir())),
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20,18",
        PYTHONPATH=str(paths.ROOT),
    )
    return env


def connect(kind: str, account_id: str) -> Cloud:
    """Child-process environment for ``kind``, acting in ``account_id``."""
    env = base_env()
    if kind == "aws":
        return Cloud("aws", env)
    if kind != "emulator":
        raise TapError(f"--cloud {kind!r} is not a cloud: use one of {', '.join(CLOUDS)}")
    state = emulator_process.running()
    if state is None:
        raise TapError(
            "the embedded AWS is not running: start it with `scripts/tap emulator start` "
            "(`scripts/tap pipeline` starts and stops its own), or pass --cloud aws"
        )
    for var in _AWS_IDENTITY_VARS:
        env.pop(var, None)
    env.update(emulator_process.credentials_for(state, account_id))
    env.update(
        AWS_ENDPOINT_URL=state.url,
        AWS_EC2_METADATA_DISABLED="true",
        # An API moto lacks answers HTTP 500; do not let the SDK retry for minutes.
        AWS_MAX_ATTEMPTS="2",
        AWS_RETRY_MODE="standard",
        TAP_CLOUD="emulator",
    )
    return Cloud("emulator", env)
