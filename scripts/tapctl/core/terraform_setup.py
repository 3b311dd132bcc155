"""Which Terraform runs, and with which CLI configuration.

:func:`find_binary` and :func:`check_version` (>= 1.10: native S3 state locking);
:func:`write_cli_config` writes the one CLI configuration every stack shares: a
plugin cache and, when ``TAP_PROVIDER_MIRROR`` names a directory (or the machine
image's mirror at ``/opt/tf-plugins`` exists), a filesystem mirror for hashicorp/aws
so ``terraform init`` works offline.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from scripts.tapctl.core.errors import TapError

MIN_VERSION = (1, 10, 0)
DEFAULT_MIRROR = Path("/opt/tf-plugins")


def find_binary() -> str:
    """Return the Terraform path, or fail with a clear message."""
    binary = os.environ.get("TERRAFORM_BINARY") or shutil.which("terraform")
    if not binary or not os.access(binary, os.X_OK):
        raise TapError(
            "terraform not found on PATH (set TERRAFORM_BINARY to use another path); "
            "install Terraform >= 1.10: https://developer.hashicorp.com/terraform/install"
        )
    return binary


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.search(r"Terraform v(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise TapError(f"could not read the Terraform version from: {text.strip()[:120]!r}")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def check_version(binary: str) -> tuple[int, int, int]:
    try:
        out = subprocess.run(
            [binary, "version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except OSError as exc:
        raise TapError(f"cannot run terraform at {binary}: {exc}") from None
    version = parse_version(out)
    if version < MIN_VERSION:
        have = ".".join(map(str, version))
        raise TapError(
            f"Terraform {have} at {binary} is too old: this project needs >= 1.10 "
            "(native S3 state locking, use_lockfile)"
        )
    return version


def provider_mirror() -> Path | None:
    configured = os.environ.get("TAP_PROVIDER_MIRROR")
    if configured:
        path = Path(configured)
        if not path.is_dir():
            raise TapError(f"TAP_PROVIDER_MIRROR={configured} is not a directory")
        return path
    return DEFAULT_MIRROR if DEFAULT_MIRROR.is_dir() else None


def write_cli_config(workdir: Path) -> Path:
    """Write the Terraform CLI config every stack shares; return its path."""
    # $TF_PLUGIN_CACHE_DIR: a cache kept between CI jobs (the workflows' setup action).
    cache = Path(os.environ.get("TF_PLUGIN_CACHE_DIR") or workdir / "plugin-cache")
    cache.mkdir(parents=True, exist_ok=True)
    lines = [
        f'plugin_cache_dir = "{cache}"',
        "plugin_cache_may_break_dependency_lock_file = true",
    ]
    mirror = provider_mirror()
    if mirror is not None:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f'    path    = "{mirror}"',
            '    include = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "  direct {",
            '    exclude = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "}",
        ]
    path = workdir / "terraformrc"
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
