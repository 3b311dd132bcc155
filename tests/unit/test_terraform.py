"""Terraform discovery, version rule and CLI configuration (scripts/tapctl/core/terraform.py)."""

from __future__ import annotations

import pytest

from scripts.tapctl.core.errors import TapError
from scripts.tapctl.core.terraform import error_summary
from scripts.tapctl.core.terraform_setup import parse_version, provider_mirror, write_cli_config


def test_parse_version():
    assert parse_version("Terraform v1.11.4\non linux_amd64\n") == (1, 11, 4)
    with pytest.raises(TapError, match="could not read the Terraform version"):
        parse_version("OpenTofu v1.8.0")


def test_cli_config_with_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("TAP_PROVIDER_MIRROR", str(mirror))
    monkeypatch.delenv("TF_PLUGIN_CACHE_DIR", raising=False)
    text = write_cli_config(tmp_path).read_text()
    assert f'plugin_cache_dir = "{tmp_path / "plugin-cache"}"' in text
    assert f'path    = "{mirror}"' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/*"]' in text


def test_mirror_setting_must_be_a_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("TAP_PROVIDER_MIRROR", str(tmp_path / "missing"))
    with pytest.raises(TapError, match="is not a directory"):
        provider_mirror()


def test_no_mirror_uses_the_registry(tmp_path, monkeypatch):
    monkeypatch.delenv("TAP_PROVIDER_MIRROR", raising=False)
    monkeypatch.setattr("scripts.tapctl.core.terraform_setup.DEFAULT_MIRROR", tmp_path / "absent")
    text = write_cli_config(tmp_path).read_text()
    assert "provider_installation" not in text
    assert "plugin_cache_dir" in text


def test_error_summary_prefers_error_lines():
    out = "Refreshing...\n╷\n│ Error: creating S3 Bucket (x): BucketAlreadyExists\n│ more\n╵\n"
    assert error_summary(out) == "creating S3 Bucket (x): BucketAlreadyExists"
    assert error_summary("just\nlast line\n") == "last line"
    assert error_summary("") == "(no output)"


def test_plugin_cache_kept_between_ci_jobs(tmp_path, monkeypatch):
    """The workflows' setup action points TF_PLUGIN_CACHE_DIR at a cached folder."""
    monkeypatch.setenv("TF_PLUGIN_CACHE_DIR", str(tmp_path / "kept"))
    text = write_cli_config(tmp_path).read_text()
    assert f'plugin_cache_dir = "{tmp_path / "kept"}"' in text
    assert (tmp_path / "kept").is_dir()
