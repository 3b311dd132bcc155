"""The one target resolver (lib/config/target.py): defaults, placeholder, state keys,
and that the app and the CLI resolve the same target from the same input."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lib.config import (
    DEFAULT_ENVIRONMENT,
    PLACEHOLDER_SUFFIX,
    parse_state_key,
    resolve_target,
    state_key,
    target_from_environ,
)
from lib.naming import SuffixError
from scripts.tapctl.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_ephemeral_template_under_the_placeholder():
    target = resolve_target()
    assert (target.name, target.suffix) == (DEFAULT_ENVIRONMENT, PLACEHOLDER_SUFFIX) == ("pr", "pr0")
    assert target.env.is_ephemeral


def test_long_lived_environments_default_to_their_own_name():
    for name in ("dev", "staging", "prod"):
        assert resolve_target(name).suffix == name


def test_a_given_suffix_is_still_checked():
    with pytest.raises(SuffixError, match="ephemeral suffixes must match"):
        resolve_target("pr", "dev")
    with pytest.raises(SuffixError, match="deploys under its own name"):
        resolve_target("prod", "pr1")


def test_target_exposes_account_region_and_state_key():
    target = resolve_target("pr", "pr42")
    assert target.account_id == target.env.account_id
    assert target.region_for("iot_pipeline") == target.env.region_for("iot_pipeline")
    assert target.state_key("iot_pipeline") == "pr42/iot_pipeline.tfstate"


def test_state_key_round_trips_and_other_objects_are_not_state():
    assert parse_state_key(state_key("pr7", "data_pipeline")) == ("pr7", "data_pipeline")
    for other in ("pr7/data_pipeline.tfstate.tflock", "bootstrap/x/y.tfstate", "README", "PR7/a.tfstate"):
        assert parse_state_key(other) is None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, ("pr", "pr0")),
        ({"ENVIRONMENT": "", "ENVIRONMENT_SUFFIX": ""}, ("pr", "pr0")),
        ({"ENVIRONMENT": "staging"}, ("staging", "staging")),
        ({"ENVIRONMENT": "pr", "ENVIRONMENT_SUFFIX": "pr9"}, ("pr", "pr9")),
    ],
)
def test_the_app_and_the_cli_resolve_the_same_target(monkeypatch, environ, expected):
    """tap.py (target_from_environ) and `scripts/tap plan` with no -e/-s agree."""
    for var in ("ENVIRONMENT", "ENVIRONMENT_SUFFIX"):
        monkeypatch.delenv(var, raising=False)
    for var, value in environ.items():
        monkeypatch.setenv(var, value)
    app = target_from_environ(environ)
    args = build_parser().parse_args(["plan"])
    cli = resolve_target(args.env, args.suffix)
    assert (app.name, app.suffix) == (cli.name, cli.suffix) == expected


def _string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # docstrings are prose, not code: leave them out
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_the_placeholder_and_the_state_key_layout_are_written_once():
    """Outside lib/config/target.py no code of the app or the CLI spells "pr0" or ".tfstate"
    (bootstrap's own fixed key excepted), so neither can drift from the resolver."""
    offenders = []
    for path in sorted([*ROOT.glob("lib/**/*.py"), *ROOT.glob("scripts/**/*.py"), ROOT / "tap.py"]):
        if (path.name == "target.py" and path.parent.name == "config") or "lambda" in path.parts:
            continue
        for line, value in _string_constants(path):
            if value == PLACEHOLDER_SUFFIX or (".tfstate" in value and "bootstrap/" not in value):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {value!r}")
    assert offenders == []
