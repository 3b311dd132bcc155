"""The secret scanner: it finds planted secrets (files, zip members) and passes clean synth output."""

from __future__ import annotations

import json
import zipfile

import pytest

from scripts.tapctl import cli
from scripts.tapctl.stages import secrets

# Shapes of real secrets, built at run time so this file holds none.
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
PRIVATE_KEY = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE...\n"


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n", "AWS secret access key"),
        (f'{{"aws_secret_access_key": "{AWS_SECRET}"}}', "AWS secret access key"),
        (PRIVATE_KEY, "private key"),
        (f"token: {GITHUB_TOKEN}\n", "GitHub token"),
        ('{"resource": {"aws_db_instance": {"db": {"password": "hunter2hunter2"}}}}', "literal password"),
    ],
)
def test_patterns_are_found_and_named(tmp_path, content, rule):
    (tmp_path / "log.txt").write_text(content)
    findings = secrets.scan([tmp_path])
    assert [f.rule for f in findings if rule in f.rule], findings
    assert all(str(tmp_path / "log.txt") in str(f) for f in findings)
    assert AWS_SECRET not in " ".join(map(str, findings)), "a finding never repeats the value"


def test_known_value_found_inside_a_saved_plan(tmp_path):
    plan = tmp_path / "stacks" / "iot" / "tfplan"
    plan.parent.mkdir(parents=True)
    with zipfile.ZipFile(plan, "w") as archive:
        archive.writestr("tfstate", json.dumps({"value": "generated-api-key-value-123"}))
    (findings,) = secrets.scan([tmp_path], known=["generated-api-key-value-123"])
    assert findings.where == f"{plan}!tfstate"
    assert findings.rule == "known secret value"


def test_references_and_short_values_are_not_findings(tmp_path):
    (tmp_path / "cdk.tf.json").write_text(
        json.dumps({"password": "${aws_secretsmanager_secret_version.x.secret_string}", "name": "db"})
    )
    assert secrets.scan([tmp_path], known=["db", ""]) == []


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "pr"])
def test_synthesized_environments_hold_no_secret(synth, tmp_path, env):
    for name, stack in synth(env).items():
        (tmp_path / f"{name}.json").write_text(json.dumps(stack, indent=2))
    assert secrets.scan([tmp_path]) == []


def test_cli_exit_code_and_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAP_WORKDIR", str(tmp_path / "tap"))
    monkeypatch.setenv("TAP_KNOWN_SECRETS", "super-secret-known-value\n")
    clean = tmp_path / "clean.txt"
    clean.write_text("nothing here\n")
    dirty = tmp_path / "dirty.txt"
    dirty.write_text("leaked super-secret-known-value\n")
    assert cli.main(["secrets-scan", str(clean)]) == 0
    assert cli.main(["secrets-scan", str(clean), str(dirty)]) == 1
    err = capsys.readouterr().err
    assert f"secret found: {dirty}: known secret value" in err
    assert "super-secret-known-value" not in err.replace("TAP_KNOWN", "")
    assert cli.main(["secrets-scan", str(tmp_path / "absent")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
