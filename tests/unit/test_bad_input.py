"""Every bad input the pipeline refuses, in one table.

Each case is rejected before any Terraform or cloud call, with an error that
names the input and the rule. ``terraform`` is a script that records every
call except ``version`` (the preflight check), and ``boto3`` clients are
refused outright, so a case that reaches either fails. Each case is also a
row of build/reports/reliability.md (the ``reliability`` fixture).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import boto3
import pytest
import yaml

from lib.config import resolve_target
from scripts.tapctl import cli
from scripts.tapctl.cli import dispatch as cli_dispatch
from scripts.tapctl.core.errors import TapError
from scripts.tapctl.stages.outputs import write
from tests.unit.fake_terraform import terraform_script

ROOT = Path(__file__).resolve().parents[2]
REPO_ENVS = ROOT / "environments"

Setup = Callable[[Path, pytest.MonkeyPatch], None]


@dataclass(frozen=True)
class Case:
    id: str
    input: str
    rule: str
    argv: tuple[str, ...]
    #: Substrings the one-line error must hold: the input and the rule.
    expect: tuple[str, ...]
    setup: Setup | None = None
    #: "cli": ``scripts/tap`` in-process; "argparse": refused while parsing;
    #: "integration": ``pytest tests/integration`` against an outputs file.
    kind: str = "cli"


# -- setups ---------------------------------------------------------------------


def _envdir(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp / "environments"
    if not target.exists():
        shutil.copytree(REPO_ENVS, target)
        monkeypatch.setattr(cli_dispatch, "resolve_target", partial(resolve_target, directory=target))
    return target


def amend_env(file: str, text: str) -> Setup:
    """Merge YAML ``text`` into a copy of ``environments/<file>``, as an author would."""

    def merge(base: object, extra: object) -> object:
        if isinstance(base, dict) and isinstance(extra, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in extra.items()}}
        return extra

    def setup(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = _envdir(tmp, monkeypatch) / file
        data = yaml.safe_load(path.read_text()) or {}
        path.write_text(yaml.safe_dump(merge(data, yaml.safe_load(text)), sort_keys=False))

    return setup


def drop_env_key(file: str, key: str) -> Setup:
    def setup(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = _envdir(tmp, monkeypatch) / file
        data = yaml.safe_load(path.read_text())
        del data[key]
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    return setup


def outputs_file(text: str | None) -> Setup:
    def setup(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = tmp / "cfn" / "flat-outputs.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is not None:
            path.write_text(text)
        monkeypatch.setenv("TAP_OUTPUTS_FILE", str(path))

    return setup


def set_env(env: dict[str, str]) -> Setup:
    def setup(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        for var, value in env.items():
            monkeypatch.setenv(var, value)

    return setup


# -- kinds of case ------------------------------------------------------------------


def command(id: str, line: str, rule: str, *expect: str, kind: str = "cli") -> Case:
    """``scripts/tap`` given ``line`` as typed in a shell (leading ``VAR=value`` words: the environment)."""
    words = shlex.split(line)
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        var, value = words.pop(0).split("=", 1)
        env[var] = value
    setup = set_env(env) if env else None
    return Case(id=id, input=line, rule=rule, argv=tuple(words), expect=expect, setup=setup, kind=kind)


def env_setting(
    id: str,
    setting: str,
    rule: str,
    *expect: str,
    file: str = "dev.yaml",
    on: str = "plan -e dev",
    note: str = "",
) -> Case:
    """``environments/<file>`` given ``key.path: value`` (value read as YAML), then ``scripts/tap <on>``."""
    path, value = setting.split(": ", 1)
    nested: object = yaml.safe_load(value)
    for key in reversed(path.split(".")):
        nested = {key: nested}
    setup = amend_env(file, yaml.safe_dump(nested))
    return Case(id, f"environments/{file} {setting}{note}", rule, tuple(on.split()), expect, setup)


def integration(id: str, outputs: str | None, rule: str, *expect: str) -> Case:
    """``pytest tests/integration`` against an outputs file holding ``outputs`` (None: no file)."""
    shown = {None: "TAP_OUTPUTS_FILE names no file", "": "flat-outputs.json is empty"}
    input = shown.get(outputs) or f"flat-outputs.json is `{outputs}`"
    return Case(id, input, rule, argv=(), expect=expect, setup=outputs_file(outputs), kind="integration")


# -- the table --------------------------------------------------------------------
# Each row: (id, what is given, the rule, *fragments the error must hold).

SUFFIX_RULE = "a lowercase ASCII letter, then lowercase letters or digits, 1-10 characters"
SUFFIXES = [
    ("uppercase", "PR1", "plan", "uppercase letter 'P'"),
    ("whitespace", "pr 1", "apply", "whitespace"),
    ("shell metacharacters", "pr1;rm -rf /", "destroy", "too long"),
    ("pipe", "pr1|x", "synth", "character '|'"),
    ("non-ASCII", "prÿ", "pipeline", "non-ASCII"),
    ("too long", "pr123456789", "plan", "11 characters is too long"),
    ("empty", "", "pipeline", "it is empty"),
    ("leading digit", "1pr", "outputs", "starts with '1', not a letter"),
    ("path traversal", "../pr1", "destroy", "contains the character '.'"),
]
CASES: list[Case] = [
    command(
        f"suffix-{name.replace(' ', '-')}",
        f"{cmd} -e pr -s {suffix!r}",
        SUFFIX_RULE,
        f"invalid environment suffix {suffix!r}",
        reason,
        "1-10 characters",
    )
    for name, suffix, cmd, reason in SUFFIXES
]
CASES += [
    command(
        "suffix-not-ephemeral-pattern",
        "plan -e pr -s dev",
        "pr suffixes match the ephemeral pattern",
        "invalid environment suffix 'dev' for 'pr'",
        "ephemeral suffixes must match",
    ),
    command(
        "suffix-long-lived-renamed",
        "apply -e dev -s pr1",
        "a long-lived environment deploys under its own name",
        "invalid environment suffix 'pr1' for 'dev'",
        "deploys under its own name ('dev')",
    ),
    *[
        command(
            f"unknown-env-{cmd}",
            f"{cmd} -e qa",
            "environment is a file in environments/",
            "unknown environment 'qa'; known environments: dev, pr, prod, staging",
        )
        for cmd in ("synth", "plan", "destroy", "pipeline")
    ],
    # -- environment files ----------------------------------------------------
    env_setting("env-wrong-type", "region: 42", "region is a string", "dev.yaml: region:", "string"),
    env_setting(
        "env-wrong-type-nested",
        "protection.destroy_allowed: yes-please",
        "protection.destroy_allowed is a boolean",
        "dev.yaml: protection.destroy_allowed:",
        "boolean",
    ),
    env_setting(
        "env-unknown-key",
        "colour: blue",
        "no key outside the environment schema",
        "dev.yaml: colour:",
        "unknown key",
        on="synth -e dev",
    ),
    env_setting(
        "env-unknown-settings-key",
        "settings.platform.colour: blue",
        "stack settings forbid extra keys",
        "dev.yaml: settings.platform.colour:",
    ),
    Case(
        id="env-missing-required-key",
        input="environments/dev.yaml without account_id",
        rule="account_id is required",
        argv=("plan", "-e", "dev"),
        expect=("dev.yaml: account_id: required key is missing",),
        setup=drop_env_key("dev.yaml", "account_id"),
    ),
    env_setting(
        "env-invalid-cidr",
        "settings.platform.vpc_cidr: 10.0.0.0/33",
        "a CIDR is a valid IPv4 block",
        "dev.yaml: settings.platform.vpc_cidr:",
        "is not a valid IPv4 CIDR block",
    ),
    env_setting(
        "env-cidr-host-bits",
        "settings.platform.vpc_cidr: 10.0.0.1/16",
        "a CIDR has no host bits set",
        "dev.yaml: settings.platform.vpc_cidr:",
        "host bits set",
    ),
    env_setting(
        "env-overlapping-cidr",
        "settings.platform.vpc_cidr: 10.0.128.0/17",
        "CIDRs of all environments are disjoint",
        "CIDR 10.0.128.0/17 overlaps 10.0.0.0/16",
        "settings.platform.vpc_cidr",
        "dev.yaml",
        file="staging.yaml",
        on="plan -e staging",
        note=" (dev has 10.0.0.0/16)",
    ),
    Case(
        id="env-overlap-in-another-file",
        input="environments/prod.yaml overlaps dev.yaml; the command targets pr",
        rule="every file is validated, whichever environment is asked for",
        argv=("plan", "-e", "pr", "-s", "pr1"),
        expect=("overlaps 10.0.0.0/16", "prod.yaml"),
        setup=amend_env("prod.yaml", "settings: {platform: {vpc_cidr: 10.0.0.0/24}}\n"),
    ),
    env_setting(
        "env-invalid-region",
        "region: mars-east-1",
        "region is a known AWS region",
        "dev.yaml: region:",
        "unknown AWS region 'mars-east-1'",
    ),
    env_setting(
        "env-invalid-account-id",
        'account_id: "12345"',
        "account_id is 12 digits",
        "dev.yaml: account_id:",
        "String should match pattern",
    ),
    env_setting(
        "env-account-id-number",
        "account_id: 111111111111",
        "account_id is a quoted string (YAML would drop leading zeros)",
        "dev.yaml: account_id:",
        "string",
        note=" (unquoted)",
    ),
    Case(
        id="env-not-yaml",
        input="environments/dev.yaml region: [unclosed",
        rule="environment files are YAML",
        argv=("plan", "-e", "dev"),
        expect=("dev.yaml", "not valid YAML"),
        setup=lambda tmp, mp: (_envdir(tmp, mp) / "dev.yaml").write_text("region: [unclosed\n"),
    ),
    # -- destroy ---------------------------------------------------------------
    *[
        Case(
            id=f"destroy-protected-{env}",
            input=f"destroy -e {env} --confirm {env}",
            rule="protection.destroy_allowed: false forbids destroy",
            argv=("destroy", "-e", env, "--confirm", env),
            expect=(f"environment {env!r} is protected", f"environments/{env}.yaml"),
        )
        for env in ("prod", "staging")
    ],
    command(
        "destroy-protected-pipeline",
        "pipeline -e prod --cloud aws",
        "the pipeline's destroy stage never runs on a protected environment",
        "environment 'prod' is protected",
        "use --keep",
    ),
    command(
        "destroy-confirm-mismatch",
        "destroy -e pr -s pr4 --confirm pr5",
        "--confirm repeats the suffix exactly",
        "--confirm 'pr5' does not match the suffix 'pr4'",
    ),
    command(
        "destroy-aws-unconfirmed",
        "destroy -e pr -s pr4 --cloud aws",
        "a destroy on real AWS needs --confirm",
        "destroying on real AWS needs --confirm pr4",
    ),
    # -- CLI arguments out of range --------------------------------------------
    *[
        command(f"arg-{name}", line, rule, message, kind="argparse")
        for name, line, rule, message in [
            ("parallelism-zero", "plan -j 0", "-j is 1-64", "-j/--parallelism: 0 is out of range: use 1-64"),
            ("parallelism-huge", "apply -j 65", "-j is 1-64", "65 is out of range: use 1-64"),
            ("parallelism-text", "plan -j many", "-j is an integer", "'many' is not an integer"),
            ("port-low", "emulator start --port 80", "--port is 1024-65535", "80 is out of range"),
            ("port-high", "pipeline --port 70000", "--port is 1024-65535", "70000 is out of range"),
            ("port-text", "emulator start --port http", "--port is a number", "'http' is not a port"),
            ("workers-high", "test -n 65", "-n is auto, logical or 0-64", "65 is out of range: use 0-64"),
            ("workers-negative", "test -n -1", "-n is auto, logical or 0-64", "-1 is out of range"),
            ("workers-text", "test -n lots", "-n is auto, logical or a number", "'lots' is not auto"),
            ("cloud", "plan --cloud gcp", "--cloud is emulator or aws", "invalid choice: 'gcp'"),
            ("emulator-action", "emulator restart", "emulator start|stop|status", "invalid choice"),
            ("timeout-high", "apply --lock-timeout 2h", "--lock-timeout is 0s-1h", "out of range"),
            ("timeout-text", "plan --lock-timeout soon", "--lock-timeout is a duration", "'soon'"),
            (
                "unlock-lock-id",
                "unlock --stack file_processing --lock-id abc",
                "--lock-id is a Terraform lock UUID",
                "'abc' is not a lock id",
            ),
            (
                "unlock-no-stack",
                "unlock --lock-id 5d2f3c1e-8b1a-4c3e-9f00-0123456789ab",
                "unlock needs --stack",
                "the following arguments are required: --stack",
            ),
        ]
    ],
    command(
        "env-var-tap-cloud",
        "TAP_CLOUD=azure pipeline -e pr -s pr1",
        "TAP_CLOUD is emulator or aws",
        "TAP_CLOUD='azure' is not a cloud",
    ),
    Case(
        id="plan-key-missing",
        input="unseal plan.sealed (no TAP_PLAN_KEY)",
        rule="sealed plans need $TAP_PLAN_KEY (>= 32 characters)",
        argv=("unseal", "plan.sealed"),
        expect=("$TAP_PLAN_KEY is not set",),
        setup=lambda tmp, mp: mp.delenv("TAP_PLAN_KEY", raising=False),
    ),
    command(
        "plan-key-short",
        "TAP_PLAN_KEY=short seal --out p.sealed",
        "sealed plans need $TAP_PLAN_KEY (>= 32 characters)",
        "$TAP_PLAN_KEY is 5 characters; use at least 32",
    ),
    command(
        "stacks-unknown",
        "synth -e pr -s pr1 --stacks nope",
        "--stacks names stacks of the environment",
        "--stacks: stack(s) nope not in environment 'pr'",
    ),
    command(
        "keep-on-emulator",
        "pipeline --keep",
        "--keep only applies to real AWS",
        "--keep only applies to --cloud aws",
    ),
    # -- the outputs file (integration tests stop with one message) --------------
    integration(
        "outputs-missing",
        None,
        "integration tests need the outputs file",
        "cannot run integration tests: outputs file",
        "is missing: run `scripts/tap outputs`",
    ),
    integration("outputs-empty", "", "the outputs file holds a JSON object", "flat-outputs.json is empty"),
    integration(
        "outputs-malformed",
        '{"BucketName": ',
        "the outputs file is valid JSON",
        "flat-outputs.json is not valid JSON",
    ),
    integration(
        "outputs-not-object",
        '["BucketName"]',
        "the outputs file maps output name -> value",
        "must hold a JSON object of output name -> value",
    ),
    integration(
        "outputs-colliding-keys",
        '{"BucketName": "a", "BucketName": "b"}',
        "output names are unique across stacks",
        "defines output 'BucketName' twice",
    ),
]


# -- the harness --------------------------------------------------------------------


@dataclass
class Guard:
    terraform_calls: Path
    clients: list[str]

    def assert_untouched(self, tmp_path: Path) -> None:
        calls = self.terraform_calls
        assert not calls.exists(), f"terraform was called: {calls.read_text()}"
        assert self.clients == [], f"cloud client(s) created: {self.clients}"
        assert not (tmp_path / "tap" / "emulator.json").exists(), "an emulator was started"


@pytest.fixture
def guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Guard:
    """Own work dirs; record any Terraform call (except `version`); refuse any boto3 client."""
    for var, sub in (("TAP_WORKDIR", "tap"), ("CDKTF_OUTDIR", "out"), ("TAP_OUTPUTS_DIR", "cfn")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    for var in ("TAP_CLOUD", "TAP_STACKS", "ENVIRONMENT", "ENVIRONMENT_SUFFIX", "TAP_OUTPUTS_FILE"):
        monkeypatch.delenv(var, raising=False)
    guard = Guard(terraform_calls=tmp_path / "terraform-calls", clients=[])
    fake = terraform_script(
        tmp_path, f'[ "$1" = version ] || echo "$@" >> {guard.terraform_calls}\necho "Terraform v1.11.4"\n'
    )
    monkeypatch.setenv("TERRAFORM_BINARY", fake)

    def refuse(self: object, service: str, *args: object, **kwargs: object) -> None:
        guard.clients.append(service)
        raise AssertionError(f"a boto3 {service} client was created")

    monkeypatch.setattr(boto3.session.Session, "client", refuse)
    return guard


def _run_cli(case: Case, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = cli.main(list(case.argv))
    except SystemExit as exc:  # argparse refuses while parsing
        code = int(exc.code or 0)
        assert case.kind == "argparse", f"{case.id}: unexpected argparse exit"
    err = capsys.readouterr().err.strip()
    return code, err


def _run_integration(tmp_path: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(PYTHONPATH=str(ROOT), AWS_ENDPOINT_URL="http://127.0.0.1:9")  # a call would fail loudly
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/integration", "-n", "2", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, (proc.stdout + proc.stderr).strip()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_before_any_call(case, guard, tmp_path, monkeypatch, capsys, reliability):
    rec = reliability.record(category="bad-input", case=case.id, input=case.input, rule=case.rule)
    if case.setup is not None:
        case.setup(tmp_path, monkeypatch)
    if case.kind == "integration":
        code, err = _run_integration(tmp_path)
        rec.observed = err
        assert code == 4, err
        assert err.count("cannot run integration tests") == 1
        assert "KeyError" not in err
        assert "INTERNALERROR" not in err
    else:
        code, err = _run_cli(case, capsys)
        rec.observed = err.splitlines()[-1].replace(str(tmp_path), "<tmp>") if err else ""
        assert code == 2, err
        if case.kind == "cli":
            assert err.startswith("error: ")
            assert len(err.splitlines()) == 1, err
    for fragment in case.expect:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    guard.assert_untouched(tmp_path)


def test_colliding_stack_outputs_write_nothing(tmp_path, reliability):
    """Two stacks with the same output name: `scripts/tap outputs` writes no file."""
    rec = reliability.record(
        category="bad-input",
        case="outputs-collision-across-stacks",
        input="stacks a and b both output BucketName",
        rule="output names are unique across stacks",
    )
    with pytest.raises(TapError) as err:
        write({"a": {"BucketName": "x"}, "b": {"BucketName": "y"}}, tmp_path / "cfn")
    rec.observed = str(err.value)
    assert str(err.value) == (
        "output 'BucketName' is defined by both stack 'a' and stack 'b'; "
        "output names must be unique across stacks"
    )
    assert not (tmp_path / "cfn").exists()
