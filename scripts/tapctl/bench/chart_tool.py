"""The benchmark's chart, drawn by matplotlib in a venv of its own.

matplotlib is not a dependency of the project: it is installed only for the chart, from
``tools/chart.lock`` (pinned with hashes), by :func:`scripts.tapctl.core.tool_venv.ensure`
into ``<tools>/chart`` (``$TAP_TOOLS_DIR`` or ``.tap/tools``) on first use, ~1 min from
PyPI. :func:`render` runs :mod:`scripts.tapctl.bench.chart` there as a child process on
a ``bench.json``; ``scripts/tap bench`` calls :func:`try_render`, which never fails the
benchmark, and ``scripts/tap bench-chart JSON PNG`` draws again from a saved JSON.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from scripts.tapctl.core import paths, tool_venv
from scripts.tapctl.core.errors import TapError

NAME = "chart"
LOCK = paths.ROOT / "tools" / "chart.lock"
TIMEOUT = 300


def python(*, install: bool = True) -> Path:
    """The chart venv's interpreter, installed from :data:`LOCK` if needed (and allowed)."""
    return tool_venv.ensure(NAME, LOCK, "python", install=install)


def render(source: Path, png: Path, *, install: bool = True) -> Path:
    """Draw ``source`` (a ``bench.json``) into ``png``; a :class:`TapError` says why not."""
    if not source.is_file():
        raise TapError(f"{source}: no such bench JSON")
    interpreter = python(install=install)
    png.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(paths.ROOT), "MPLBACKEND": "Agg"}
    cmd = [str(interpreter), "-m", "scripts.tapctl.bench.chart", str(source.absolute()), str(png.absolute())]
    try:
        proc = subprocess.run(
            cmd, cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise TapError(f"drawing the chart took more than {TIMEOUT} s") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"]
        raise TapError(f"drawing the chart failed: {lines[-1]}")
    return png


def try_render(source: Path, png: Path, *, install: bool) -> str:
    """One line for the benchmark's output: where the chart is, or why it was not drawn."""
    later = f"draw it later: scripts/tap bench-chart {source} {png}"
    if not install and not tool_venv.installed(NAME, LOCK, "python"):
        return f"chart not drawn (--no-install, and no chart venv in {tool_venv.venv_path(NAME)}); {later}"
    try:
        return f"chart: {render(source, png, install=install)}"
    except (TapError, OSError, subprocess.SubprocessError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"chart not drawn ({reason}); {later}"


def command(source: Path, png: Path) -> int:
    """``scripts/tap bench-chart JSON PNG``."""
    print(f"chart: {render(source, png)}")
    return 0
