"""A waterfall PNG with the standard library only (zlib + struct).

A ``Canvas`` is an RGB pixel buffer with filled rectangles and a 3x5 bitmap
font; ``encode`` writes it as an 8-bit truecolour PNG (signature, IHDR, one
zlib IDAT, IEND). ``waterfall`` draws one row per stack and one bar per
stage on a shared time axis, so overlapping stages are visible at a glance.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

from scripts.tapctl.bench.report import Bar
from scripts.tapctl.core.errors import TapError

RGB = tuple[int, int, int]
SIGNATURE = b"\x89PNG\r\n\x1a\n"
WHITE: RGB = (255, 255, 255)
INK: RGB = (40, 40, 40)
GRID: RGB = (225, 225, 225)

#: Stage colours; any other stage gets ``OTHER``.
PALETTE: dict[str, RGB] = {
    "synth": (117, 112, 179),
    "bootstrap": (160, 160, 160),
    "plan": (102, 166, 30),
    "diff": (102, 166, 30),
    "apply": (217, 95, 2),
    "deploy": (217, 95, 2),
    "converge": (230, 171, 2),
    "outputs": (27, 158, 119),
    "output": (27, 158, 119),
    "test": (231, 41, 138),
    "destroy": (166, 118, 29),
    "comment": (31, 120, 180),
}
OTHER: RGB = (120, 120, 120)

# 3x5 glyphs, rows top to bottom, "1" = ink. Lower case is drawn as upper case.
_FONT = {
    "A": "010101111101101", "B": "110101110101110", "C": "011100100100011", "D": "110101101101110",
    "E": "111100110100111", "F": "111100110100100", "G": "011100101101011", "H": "101101111101101",
    "I": "111010010010111", "J": "001001001101010", "K": "101101110101101", "L": "100100100100111",
    "M": "101111111101101", "N": "110101101101101", "O": "010101101101010", "P": "110101110100100",
    "Q": "010101101110011", "R": "110101110101101", "S": "011100010001110", "T": "111010010010010",
    "U": "101101101101111", "V": "101101101101010", "W": "101101111111101", "X": "101101010101101",
    "Y": "101101010010010", "Z": "111001010100111", "0": "111101101101111", "1": "010110010010111",
    "2": "110001010100111", "3": "110001010001110", "4": "101101111001001", "5": "111100110001110",
    "6": "011100111101111", "7": "111001010010010", "8": "111101111101111", "9": "111101111001110",
    "-": "000000111000000", "_": "000000000000111", ".": "000000000000010", ":": "000010000010000",
    "(": "001010010010001", ")": "100010010010100", "/": "001001010100100", " ": "0" * 15,
    "*": "000101010101000", "=": "000111000111000", ",": "000000000010100", "+": "000010111010000",
}  # fmt: skip
SCALE = 2
ADVANCE = 4 * SCALE


class Canvas:
    def __init__(self, width: int, height: int, background: RGB = WHITE) -> None:
        if width < 1 or height < 1:
            raise TapError(f"canvas {width}x{height} must be at least 1x1")
        self.width, self.height = width, height
        self.rows = [bytearray(bytes(background) * width) for _ in range(height)]

    def rect(self, x: int, y: int, w: int, h: int, colour: RGB) -> None:
        """Fill a rectangle, clipped to the canvas."""
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + w), min(self.height, y + h)
        if x1 <= x0 or y1 <= y0:
            return
        span = bytes(colour) * (x1 - x0)
        for row in self.rows[y0:y1]:
            row[x0 * 3 : x1 * 3] = span

    def text(self, x: int, y: int, text: str, colour: RGB = INK) -> None:
        for i, char in enumerate(text.upper()):
            glyph = _FONT.get(char, _FONT["*"])
            for bit, on in enumerate(glyph):
                if on == "1":
                    gx, gy = bit % 3, bit // 3
                    self.rect(x + i * ADVANCE + gx * SCALE, y + gy * SCALE, SCALE, SCALE, colour)

    def pixel(self, x: int, y: int) -> RGB:
        r, g, b = self.rows[y][x * 3 : x * 3 + 3]
        return (r, g, b)


def text_width(text: str) -> int:
    return len(text) * ADVANCE


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode(canvas: Canvas) -> bytes:
    """The canvas as PNG bytes (8-bit RGB, filter 0 on every scanline)."""
    ihdr = struct.pack(">IIBBBBB", canvas.width, canvas.height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(row) for row in canvas.rows)
    return SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


# -- the waterfall -------------------------------------------------------------------

PAD = 10
ROW_H = 22
BAR_H = 14
CHART_W = 900
LEGEND_H = 16


def _tick_step(total: float) -> int:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if total / step <= 12:
            return step
    return 1200


def waterfall(bars: Sequence[Bar], title: str = "") -> Canvas:
    """One row per ``Bar.row`` (in order of first appearance), one bar per stage."""
    if not bars:
        raise TapError("no stage timings to draw: the waterfall needs at least one bar")
    rows = list(dict.fromkeys(b.row for b in bars))
    stages = list(dict.fromkeys(b.stage for b in bars))
    t0 = min(b.start for b in bars)
    total = max(max(b.start + b.seconds for b in bars) - t0, 1e-6)
    label_w = max(text_width(r) for r in rows) + 2 * PAD
    top = 2 * PAD + 10 + 16  # title, then the axis labels
    legend_y = top + ROW_H * len(rows) + PAD
    width = label_w + CHART_W + 2 * PAD
    legend = legend_layout(stages, left=label_w, right=width - PAD)
    height = legend_y + LEGEND_H * (1 + max(line for _, _, line in legend)) + PAD
    canvas = Canvas(width, height)
    canvas.text(PAD, PAD, title)
    scale = CHART_W / total

    step = _tick_step(total)
    for tick in range(0, int(total) + 1, step):
        x = label_w + int(tick * scale)
        canvas.rect(x, top - 4, 1, ROW_H * len(rows) + 4, GRID)
        canvas.text(x - text_width(f"{tick}S") // 2, top - 16, f"{tick}s")
    for i, row in enumerate(rows):
        y = top + i * ROW_H
        canvas.text(PAD, y + (ROW_H - 10) // 2, row)
        canvas.rect(label_w, y + ROW_H - 1, CHART_W, 1, GRID)
    for bar in bars:
        y = top + rows.index(bar.row) * ROW_H + (ROW_H - BAR_H) // 2
        x = label_w + int((bar.start - t0) * scale)
        canvas.rect(x, y, max(1, round(bar.seconds * scale)), BAR_H, PALETTE.get(bar.stage, OTHER))

    for stage, x, line in legend:
        y = legend_y + line * LEGEND_H
        canvas.rect(x, y, 14, 10, PALETTE.get(stage, OTHER))
        canvas.text(x + 18, y, stage)
    return canvas


def legend_layout(stages: Sequence[str], *, left: int, right: int) -> list[tuple[str, int, int]]:
    """``(stage, x, line)`` per legend entry, wrapped onto a new line at ``right``."""
    placed, x, line = [], left, 0
    for stage in stages:
        item = 18 + text_width(stage)
        if x > left and x + item > right:
            x, line = left, line + 1
        placed.append((stage, x, line))
        x += item + 2 * PAD
    return placed


def write_waterfall(bars: Sequence[Bar], path: Path, title: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(waterfall(bars, title)))
    return path
