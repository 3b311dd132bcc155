"""Start, stop and describe the embedded AWS (moto server on loopback), from outside it.

What runs inside that process (moto, the gap patches, the Lambda executor, the
triggers) is the :mod:`scripts.tapctl.emulator` package; this module only starts it
(``python -m scripts.tapctl.emulator.server``), finds it and stops it. Its state
(pid, port, per-account credentials) lives in ``.tap/emulator.json``. Credentials
are real IAM access keys created inside the emulator in each environment's
account, so the provider's ``allowed_account_ids`` guard and STS answer exactly
as in real AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from scripts.tapctl.core import paths, ui
from scripts.tapctl.core.errors import TapError

HOST = "127.0.0.1"
START_TIMEOUT = 60.0
EMULATOR_USER = "tap-emulator"


@dataclass
class EmulatorState:
    pid: int
    port: int
    started: float
    accounts: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def state_file() -> Path:
    return paths.workdir() / "emulator.json"


def load_state() -> EmulatorState | None:
    path = state_file()
    if not path.exists():
        return None
    try:
        return EmulatorState(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def _save(state: EmulatorState) -> None:
    tmp = state_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2))
    os.chmod(tmp, 0o600)
    tmp.replace(state_file())


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


#: moto's dashboard page: static, ~10 KB. ``/moto-api/data.json`` serializes every
#: backend (12 MB once a VPC stack touched EC2) and took longer than the timeout
#: on a loaded machine, so a live emulator was reported as not running.
HEALTH_PATH = "/moto-api/"


def healthy(port: int, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{HEALTH_PATH}", timeout=timeout):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running() -> EmulatorState | None:
    """The emulator this checkout started, if it is alive and answering."""
    state = load_state()
    if state and _alive(state.pid) and healthy(state.port):
        return state
    return None


def validate_port(port: int) -> int:
    if not 1024 <= port <= 65535:
        raise TapError(f"--port {port} is out of range: use 1024-65535, or omit it for a free port")
    if port_in_use(port):
        raise TapError(
            f"port {port} on {HOST} is already in use: stop what listens there or pick another "
            "--port (omit --port to choose a free one)"
        )
    return port


def start(port: int | None = None) -> EmulatorState:
    existing = running()
    if existing:
        if port is not None and port != existing.port:
            raise TapError(
                f"the emulator already runs on port {existing.port} (pid {existing.pid}); "
                "stop it first with `scripts/tap emulator stop`"
            )
        return existing
    port = validate_port(port) if port is not None else free_port()
    log = paths.workdir() / "emulator.log"
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.tapctl.emulator.server", "--port", str(port)],
            cwd=paths.ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(paths.ROOT)},
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not healthy(port, timeout=1.0):
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-600:]
            raise TapError(f"the emulator exited with code {proc.returncode} on start: {tail}")
        if time.monotonic() > deadline:
            _kill(proc.pid)
            raise TapError(f"the emulator did not answer on port {port} within {START_TIMEOUT:.0f}s")
        time.sleep(0.2)
    state = EmulatorState(pid=proc.pid, port=port, started=time.time())
    _save(state)
    return state


def stop() -> bool:
    """Stop the emulator if it runs; return whether one was stopped."""
    state = load_state()
    stopped = False
    if state and _alive(state.pid):
        _kill(state.pid)
        stopped = True
    with contextlib.suppress(FileNotFoundError):
        state_file().unlink()
    return stopped


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def credentials_for(state: EmulatorState, account_id: str) -> dict[str, str]:
    """Access keys of a user inside the emulator's copy of ``account_id``."""
    if account_id in state.accounts:
        return state.accounts[account_id]
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=state.url,
        region_name="us-east-1",
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",  # noqa: S106 - emulator-only placeholder
    )

    def _account_header(request, **_: object) -> None:
        request.headers["x-moto-account-id"] = account_id

    iam.meta.events.register("before-sign.iam.*", _account_header)
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=EMULATOR_USER)
    # the account's administrator, as the deploying identity is on AWS (API Gateway's
    # AWS_IAM methods evaluate this policy for execute-api:Invoke)
    iam.put_user_policy(
        UserName=EMULATOR_USER,
        PolicyName="administrator",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName=EMULATOR_USER)["AccessKey"]
    creds = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    state.accounts[account_id] = creds
    _save(state)
    return creds


@contextlib.contextmanager
def owned(port: int | None = None) -> Iterator[EmulatorState]:
    """Use a running emulator, or start one and stop it afterwards, whatever happens."""
    existing = running()
    if existing is not None:
        ui.info(f"emulator already running on {existing.url} (pid {existing.pid}); reusing it")
        yield existing
        return
    t0 = time.monotonic()
    state = start(port)
    ui.info(f"emulator started on {state.url} (pid {state.pid}) in {time.monotonic() - t0:.1f}s")
    try:
        yield state
    finally:
        stop()
        ui.info("emulator stopped")


def command(action: str, port: int | None) -> int:
    """``scripts/tap emulator start|stop|status``; ``status`` exits 3 when it is not running."""
    if action == "start":
        state = start(port)
        print(f"emulator running on {state.url} (pid {state.pid}); stop it with `scripts/tap emulator stop`")
    elif action == "stop":
        print("emulator stopped" if stop() else "emulator was not running")
    else:
        state = running()
        print(f"running on {state.url} (pid {state.pid})" if state else "not running")
        return 0 if state else 3
    return 0
