"""The benchmark chart: bench.json -> sections, rows and one colour per stage (pure), and a
real PNG drawn by matplotlib in the chart's own venv.

The rendering tests use the venv where the code puts it (``$TAP_TOOLS_DIR/chart`` or
``<workdir>/tools/chart``, ``.tap/tools/chart`` by default) and install it there from
``tools/chart.lock`` when it is absent or stale: about a minute from PyPI the first time
(numpy, matplotlib, pillow, fonttools wheels), nothing afterwards. They fail, not skip,
when it cannot be installed.
"""

from __future__ import annotations

import ast
import json
import struct
import sys
from pathlib import Path

import pytest

from scripts.tapctl.bench import chart_data, chart_tool
from scripts.tapctl.bench.chart_data import Row, Span, from_document
from scripts.tapctl.cli.dispatch import COMMANDS
from scripts.tapctl.cli.parser import build_parser
from scripts.tapctl.core.errors import TapError

STACKS = ["platform", "file_processing", "transaction_pipeline"]


def _bar(row: str, stage: str, start: float, seconds: float) -> dict:
    return {"row": row, "stage": stage, "start": start, "seconds": seconds}


def ephemeral_doc(**meta) -> dict:
    """A small part-3 document as ``scripts/tap bench`` writes it (made-up seconds)."""
    waterfall = [
        _bar("pipeline", "synth", 0.0, 20.0),
        _bar("pipeline", "plan", 20.0, 30.0),
        _bar("pipeline", "apply", 50.0, 100.0),
        _bar("pipeline", "test", 150.0, 40.0),
        _bar("pipeline", "destroy", 190.0, 80.0),
        _bar("platform", "plan", 20.0, 28.0),
        _bar("platform", "apply", 50.0, 100.0),
        _bar("platform", "destroy", 190.0, 80.0),
        _bar("file_processing", "plan", 20.0, 25.0),
        _bar("file_processing", "apply", 50.0, 60.0),
        _bar("file_processing", "destroy", 190.0, 30.0),
        _bar("transaction_pipeline", "plan", 35.0, 10.0),
        _bar("transaction_pipeline", "apply", 110.0, 30.0),
        _bar("peer (cdktf)", "deploy", 0.0, 400.0),
        _bar("peer (cdktf)", "output", 400.0, 30.0),
        _bar("peer (cdktf)", "test", 430.0, 65.0),
        _bar("peer (cdktf)", "destroy", 495.0, 160.0),
    ]
    doc = {
        "version": 1, "started": "2026-11-23T09:12:00Z", "environment": "pr", "suffix": "pr0",
        "stacks": STACKS, "reps": 3, "parts": [1, 2, 3, 4], "parallelism": 6, "peer_parallelism": 1,
        "cpus": 2, "cdktf_cli": "cdktf-cli 0.21.0 at x", "stopped_early": None, "rows": [],
        "waterfall": waterfall,
    }  # fmt: skip
    return {**doc, **meta}


def pr_feedback_doc() -> dict:
    waterfall = [
        _bar("pipeline", "synth", 0.0, 21.5),
        _bar("pipeline", "plan", 21.5, 55.8),
        _bar("pipeline", "comment", 77.3, 0.1),
        *[_bar(s, "plan", 21.6, 45.0) for s in STACKS],
        _bar("peer (cdktf)", "diff platform", 0.0, 40.0),
        _bar("peer (cdktf)", "diff file_processing", 40.0, 30.0),
        _bar("peer (cdktf)", "diff transaction_pipeline", 70.0, 35.0),
    ]
    return ephemeral_doc(parts=[1, 2, 4], waterfall=waterfall)


# -- what the chart shows (pure) -------------------------------------------------------------


def test_ours_then_the_peer_whole_stages_first_stacks_in_order_of_start():
    chart = from_document(ephemeral_doc())
    ours, peer = chart.sections
    assert ours.title == "ours: scripts/tap"
    assert [r.label for r in ours.rows] == [
        "all stacks (whole stages)", "file_processing", "platform", "transaction_pipeline",
    ]  # fmt: skip
    assert ours.rows[2] == Row(
        "platform", (Span("plan", 20.0, 28.0), Span("apply", 50.0, 100.0), Span("destroy", 190.0, 80.0))
    )
    assert peer.title == "peer: cdktf-cli"
    assert [r.label for r in peer.rows] == ["all stacks"]
    assert [s.stage for s in peer.rows[0].spans] == ["deploy", "output", "test", "destroy"]
    assert (ours.end, peer.end, chart.end) == (270.0, 655.0, 655.0)


def test_the_peers_diffs_are_one_row_per_stack_and_one_stage():
    chart = from_document(pr_feedback_doc())
    _, peer = chart.sections
    assert [(r.label, [s.stage for s in r.spans]) for r in peer.rows] == [
        ("platform", ["diff"]), ("file_processing", ["diff"]), ("transaction_pipeline", ["diff"]),
    ]  # fmt: skip
    assert list(chart.colours) == ["synth", "plan", "comment", "diff"], "one legend entry per stage"
    assert chart_data.split_stage("diff platform") == ("diff", "platform")
    assert chart_data.split_stage("deploy.images") == ("deploy.images", None)


def test_one_distinct_colour_per_stage_fixed_for_known_stages():
    stages = ["plan", "apply", "diff", "deploy", "warm-up", "synth", "apply", "warm-up", "lint"]
    colours = chart_data.colours(stages)
    assert list(colours) == ["synth", "plan", "apply", "diff", "deploy", "warm-up", "lint"]
    assert colours["apply"] == chart_data.STAGE_COLOURS["apply"]
    assert colours["warm-up"] == chart_data.SPARE_COLOURS[0]
    assert len(set(colours.values())) == len(colours)
    every = list(chart_data.STAGE_COLOURS) + [f"extra{i}" for i in range(20)]
    many = chart_data.colours(every)
    assert len(set(many.values())) == len(every), "no colour repeated, however many stages"
    assert len(set(chart_data.STAGE_COLOURS.values())) == len(chart_data.STAGE_COLOURS)


def test_the_title_says_what_when_how_often_and_where():
    title, subtitle = chart_data.titles(ephemeral_doc())
    assert title == "scripts/tap bench, 2026-11-23: ephemeral cycle (part 3)"
    assert subtitle == (
        "pr/pr0, 3 stacks; the median of 3 repetitions; 2 CPUs; ours -j 6, peer --parallelism 1"
    )
    title, subtitle = chart_data.titles(
        {**pr_feedback_doc(), "reps": 1, "stopped_early": "cdktf deploy failed (exit 1)"}
    )
    assert title == "scripts/tap bench, 2026-11-23: PR feedback (part 2)"
    assert "; 1 repetition;" in subtitle
    assert subtitle.endswith("; stopped early: cdktf deploy failed (exit 1)")


def test_the_sequential_terraform_peer_keeps_its_name():
    doc = ephemeral_doc(
        waterfall=[_bar("pipeline", "plan", 0, 1), _bar("peer (sequential terraform)", "plan", 0, 3)]
    )
    assert [s.title for s in from_document(doc).sections] == [
        "ours: scripts/tap",
        "peer: sequential terraform",
    ]


def test_nothing_to_draw_without_a_waterfall():
    with pytest.raises(ValueError, match="no waterfall \\(parts 2 and 3 were not run\\)"):
        from_document(ephemeral_doc(waterfall=[]))


def test_labels_on_wide_bars_in_a_readable_ink():
    assert chart_data.bar_label(Span("apply", 0, 100.4), 655.0) == "100 s"
    assert chart_data.bar_label(Span("outputs", 0, 2.0), 655.0) is None
    assert chart_data.ink_for("#ffbb78") == "black"
    assert chart_data.ink_for("#8c564b") == "white"


def test_chart_data_imports_only_the_standard_library():
    """It runs inside the chart venv, where only matplotlib and its dependencies exist."""
    tree = ast.parse(Path(chart_data.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_bench_chart_command_draws_the_given_json(tmp_path, monkeypatch, capsys):
    seen: list[tuple[Path, Path]] = []
    monkeypatch.setattr(chart_tool, "render", lambda source, png: seen.append((source, png)) or png)
    args = build_parser().parse_args(["bench-chart", "docs/bench/x.json", "docs/img/x.png"])
    assert COMMANDS["bench-chart"](args) == 0
    assert seen == [(Path("docs/bench/x.json"), Path("docs/img/x.png"))]
    assert capsys.readouterr().out == "chart: docs/img/x.png\n"


def test_render_refuses_a_missing_json_before_installing_anything(tmp_path, monkeypatch):
    monkeypatch.setattr(chart_tool.tool_venv, "ensure", lambda *a, **kw: pytest.fail("installed"))
    with pytest.raises(TapError, match="no such bench JSON"):
        chart_tool.render(tmp_path / "missing.json", tmp_path / "x.png")


def test_no_install_draws_with_a_venv_already_there(tmp_path, monkeypatch):
    monkeypatch.setattr(chart_tool.tool_venv, "installed", lambda *a: True)
    monkeypatch.setattr(chart_tool, "render", lambda source, png, *, install: png)
    png = tmp_path / "w.png"
    assert chart_tool.try_render(tmp_path / "b.json", png, install=False) == f"chart: {png}"


# -- drawn for real, in the chart venv --------------------------------------------------------


@pytest.fixture(scope="session")
def chart_venv() -> Path:
    """The chart venv where the code looks for it, installed if absent (~1 min, once)."""
    return chart_tool.python(install=True)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "a PNG signature"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert data[-8:-4] == b"IEND"
    return width, height


@pytest.mark.parametrize(("doc", "rows"), [(ephemeral_doc(), 5), (pr_feedback_doc(), 7)])
def test_renders_a_png_of_a_sensible_size(chart_venv, tmp_path, doc, rows):
    source = tmp_path / "bench.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    png = chart_tool.render(source, tmp_path / "out" / "waterfall.png")
    width, height = png_size(png)
    assert 1000 <= width <= 1600, width  # 12 in at 110 dpi
    assert 250 + 25 * rows <= height <= 450 + 45 * rows, height  # grows with the rows
    assert png.stat().st_size > 20_000, "more than an empty canvas"


def test_the_drawing_process_reports_a_json_without_bars(chart_venv, tmp_path):
    source = tmp_path / "part4.json"
    source.write_text(json.dumps(ephemeral_doc(waterfall=[])), encoding="utf-8")
    with pytest.raises(TapError, match=r"drawing the chart failed: .*part4\.json: the JSON has no waterfall"):
        chart_tool.render(source, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
