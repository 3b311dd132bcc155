"""Draws the benchmark chart with matplotlib: ``python -m scripts.tapctl.bench.chart BENCH_JSON OUT_PNG``.

Runs only inside the chart's own venv (``tools/chart.lock``, installed by
:mod:`scripts.tapctl.bench.chart_tool`); the project's venv has no matplotlib. What is
drawn (sections, rows, colours, titles) comes from :mod:`scripts.tapctl.bench.chart_data`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt
from matplotlib.patches import Patch

from scripts.tapctl.bench.chart_data import Chart, bar_label, from_document, ink_for

ROW_INCHES = 0.3
WIDTH_INCHES = 12.0
DPI = 110


def draw(chart: Chart, out: Path) -> None:
    end = chart.end
    ticks: list[tuple[float, str, bool]] = []  # (y, label, a section's title), top to bottom
    y = 0.0
    rows = sum(len(section.rows) for section in chart.sections)
    height = 1.4 + ROW_INCHES * (rows + 1.5 * len(chart.sections)) + 0.3 * (1 + len(chart.colours) // 12)
    fig, ax = plt.subplots(figsize=(WIDTH_INCHES, height), dpi=DPI, layout="constrained")
    for section in chart.sections:
        ticks.append((y, section.title, True))
        first = y + 1
        for row in section.rows:
            y += 1
            ticks.append((y, row.label, False))
            for span in row.spans:
                colour = chart.colours[span.stage]
                ax.barh(
                    y, span.seconds, left=span.start, height=0.72, color=colour, edgecolor="white", lw=0.5
                )
                label = bar_label(span, end)
                if label:
                    ax.text(span.start + span.seconds / 2, y, label, ha="center", va="center", fontsize=7,
                            color=ink_for(colour))  # fmt: skip
        # where this section's last bar ends
        ax.vlines(section.end, first - 0.5, y + 0.5, colors="#444444", linestyles="dashed", lw=0.8)
        ax.text(section.end + end * 0.005, first - 0.45, f"{section.end:.1f} s", va="top", fontsize=8)
        y += 1.5
    ax.set_yticks([t[0] for t in ticks], [t[1] for t in ticks])
    for tick, (_, _, is_title) in zip(ax.get_yticklabels(), ticks, strict=True):
        if is_title:
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(y - 1.0, -0.8)
    ax.set_xlim(0, end * 1.08)
    ax.set_xlabel("seconds since the start of the measured repetition")
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"{chart.title}\n{chart.subtitle}", loc="left", fontsize=10)
    handles = [Patch(facecolor=c, label=s) for s, c in chart.colours.items()]
    fig.legend(handles=handles, title="stage", loc="outside lower center", ncol=min(len(handles), 12),
               frameon=False, fontsize=8, title_fontsize=8)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Software": None})
    plt.close(fig)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m scripts.tapctl.bench.chart BENCH_JSON OUT_PNG", file=sys.stderr)
        return 2
    source, out = Path(argv[0]), Path(argv[1])
    try:
        chart = from_document(json.loads(source.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{source}: {exc}", file=sys.stderr)
        return 1
    draw(chart, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
