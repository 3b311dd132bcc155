"""Load ``environments/*.yaml`` into :class:`Environment` objects.

``environments/defaults.yaml`` holds what all environments share; each
``<name>.yaml`` holds only what differs and is deep-merged over it (mappings
merge key by key; lists and scalars replace). Every error names the file that
supplied the bad value, the dotted key and the reason.
"""

from __future__ import annotations

import ipaddress
import itertools
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lib.config.model import Environment

ENVIRONMENTS_DIR = Path(__file__).resolve().parents[2] / "environments"
DEFAULTS_FILE = "defaults.yaml"


class EnvironmentConfigError(ValueError):
    """An environment file is invalid. ``str()`` is one line: file: key: reason."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(f"{file}: {key or '(top level)'}: {reason}")


class UnknownEnvironmentError(ValueError):
    pass


def known_environments(directory: Path = ENVIRONMENTS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml") if p.name != DEFAULTS_FILE)


def load_environment(name: str, directory: Path = ENVIRONMENTS_DIR) -> Environment:
    """Load one environment; all files are validated (CIDR overlap spans files)."""
    known = known_environments(directory)
    if name not in known:
        raise UnknownEnvironmentError(
            f"unknown environment {name!r}; known environments: {', '.join(known) or '(none)'}"
        )
    return load_all(directory)[name]


def load_all(directory: Path = ENVIRONMENTS_DIR) -> dict[str, Environment]:
    defaults_path = directory / DEFAULTS_FILE
    defaults = _read_yaml(defaults_path) if defaults_path.exists() else {}
    envs: dict[str, Environment] = {}
    for name in known_environments(directory):
        envs[name] = _load_one(directory / f"{name}.yaml", defaults, defaults_path)
    _check_cidr_overlaps(envs, directory)
    _check_branches(envs, directory)
    return envs


# -- internals -----------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # one line
        raise EnvironmentConfigError(_rel(path), where, f"not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EnvironmentConfigError(_rel(path), "", "must be a mapping of keys to values")
    return data


def _merge(base: Any, override: Any, origin: dict[str, str], path: str, file: str) -> Any:
    """Deep-merge ``override`` into ``base``; record which file set each key."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            sub = f"{path}.{key}" if path else str(key)
            if value is None and isinstance(base.get(key), dict):
                continue  # an empty section (``settings:``) keeps the defaults
            out[key] = _merge(base.get(key), value, origin, sub, file) if key in base else value
            _mark(origin, sub, value, file)
        return out
    _mark(origin, path, override, file)
    return override


def _mark(origin: dict[str, str], path: str, value: Any, file: str) -> None:
    origin[path] = file
    if isinstance(value, dict):
        for key, sub in value.items():
            _mark(origin, f"{path}.{key}", sub, file)


def _load_one(path: Path, defaults: dict[str, Any], defaults_path: Path) -> Environment:
    origin: dict[str, str] = {}
    _mark_all(origin, defaults, _rel(defaults_path))
    data = _read_yaml(path)
    if "name" in data:
        raise EnvironmentConfigError(_rel(path), "name", "is taken from the file name; remove it")
    merged = _merge(defaults, data, origin, "", _rel(path))
    merged["name"] = path.stem
    try:
        # The model validates everything, each stack's settings included (once, against
        # the model the stack registry names).
        return Environment.model_validate(merged)
    except ValidationError as exc:
        raise _config_error(exc, origin, path) from None


def _config_error(exc: ValidationError, origin: dict[str, str], path: Path) -> EnvironmentConfigError:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    file = _origin_of(origin, key) or _rel(path)
    reason = err["msg"]
    if err["type"] == "missing":
        reason = "required key is missing"
    elif err["type"] == "extra_forbidden":
        reason = "unknown key (not part of the environment schema)"
    elif "input" in err and err["type"] not in ("value_error",):
        reason = f"{reason} (got {err['input']!r})"
    reason = reason.removeprefix("Value error, ")
    return EnvironmentConfigError(file, key, reason)


def _mark_all(origin: dict[str, str], data: dict[str, Any], file: str) -> None:
    for key, value in data.items():
        _mark(origin, str(key), value, file)


def _origin_of(origin: dict[str, str], key: str) -> str | None:
    parts = key.split(".")
    while parts:
        hit = origin.get(".".join(parts))
        if hit:
            return hit
        parts.pop()
    return None


def _cidrs(env: Environment) -> list[tuple[str, ipaddress.IPv4Network]]:
    found: list[tuple[str, ipaddress.IPv4Network]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                dotted = f"{prefix}.{key}"
                if str(key).endswith("cidr") and isinstance(sub, str):
                    found.append((dotted, ipaddress.IPv4Network(sub)))
                else:
                    walk(dotted, sub)

    for stack in env.stacks:
        walk(f"settings.{stack}", env.settings[stack].model_dump())
    return found


def _check_cidr_overlaps(envs: dict[str, Environment], directory: Path) -> None:
    entries = [(name, key, net) for name, env in envs.items() for key, net in _cidrs(env)]
    for (n1, k1, c1), (n2, k2, c2) in itertools.combinations(entries, 2):
        if c1.overlaps(c2):
            raise EnvironmentConfigError(
                _rel(directory / f"{n2}.yaml"),
                k2,
                f"CIDR {c2} overlaps {c1} at {k1} in {_rel(directory / f'{n1}.yaml')}",
            )


def _check_branches(envs: dict[str, Environment], directory: Path) -> None:
    seen: dict[str, str] = {}
    for name, env in envs.items():
        if env.branch is None:
            continue
        if env.branch in seen:
            raise EnvironmentConfigError(
                _rel(directory / f"{name}.yaml"),
                "branch",
                f"branch {env.branch!r} already deploys environment {seen[env.branch]!r}",
            )
        seen[env.branch] = name


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ENVIRONMENTS_DIR.parent))
    except ValueError:
        return str(path)
