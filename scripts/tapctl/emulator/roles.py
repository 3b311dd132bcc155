"""Credentials of an IAM role inside the embedded AWS, as the Lambda and Step Functions services get them.

:func:`role_credentials` assumes a role through the emulator's own STS (``AssumeRole``, no network)
and returns the temporary keys as the environment variables an SDK reads, so every call made with
them lands in the role's account with the role's identity. Keys are cached per role ARN for an
hour and renewed five minutes before they expire; the Lambda executor gives them to each function
process, the Step Functions patches to each service call of an execution.
"""

from __future__ import annotations

import threading
import time

_ROLE_CREDS: dict[str, tuple[float, dict[str, str]]] = {}
_ROLE_LOCK = threading.Lock()


def role_credentials(role_arn: str, region: str) -> dict[str, str]:
    """Temporary keys of ``role_arn`` from the emulator's STS: they map to the role's account."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    with _ROLE_LOCK:
        cached = _ROLE_CREDS.get(role_arn)
        if cached and cached[0] > time.time() + 300:
            return cached[1]
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else "123456789012"
        role = sts_backends[account][get_partition(region)].assume_role(
            region_name=region,
            role_session_name="tap-emulator",
            role_arn=role_arn,
            policy="",
            duration=3600,
            external_id="",
        )
        creds = {
            "AWS_ACCESS_KEY_ID": role.access_key_id,
            "AWS_SECRET_ACCESS_KEY": role.secret_access_key,
            "AWS_SESSION_TOKEN": role.session_token,
        }
        _ROLE_CREDS[role_arn] = (time.time() + 3600, creds)
        return creds
