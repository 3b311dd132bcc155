"""Image metadata from the file header alone (PNG and JPEG), no imaging library."""

from __future__ import annotations

import struct
from typing import Any

from file_records import ExtractionError, S3Object

#: The processor reads only this much of an image: enough for any header.
HEADER_BYTES = 64 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPES = {0: "grayscale", 2: "rgb", 3: "indexed", 4: "grayscale-alpha", 6: "rgba"}
#: JPEG start-of-frame markers (SOF0-SOF15 except DHT, JPG and DAC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def png_info(data: bytes) -> dict[str, Any]:
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR" or len(data) < 29:
        raise ExtractionError("not a PNG image: bad signature or no IHDR chunk")
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    if width == 0 or height == 0:
        raise ExtractionError("PNG image has a zero dimension")
    return {
        "format": "png",
        "width": width,
        "height": height,
        "bit_depth": depth,
        "color": _PNG_COLOR_TYPES.get(color, "unknown"),
    }


def jpeg_info(data: bytes) -> dict[str, Any]:
    if not data.startswith(b"\xff\xd8"):
        raise ExtractionError("not a JPEG image: no start-of-image marker")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ExtractionError(f"JPEG image is corrupt at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS:
            if pos + 10 > len(data):
                break
            depth, height, width, components = struct.unpack(">BHHB", data[pos + 4 : pos + 10])
            return {
                "format": "jpeg",
                "width": width,
                "height": height,
                "bit_depth": depth,
                "components": components,
            }
        pos += 2 + length
    raise ExtractionError(f"JPEG image has no frame header in its first {HEADER_BYTES} bytes")


def extract(obj: S3Object, data: bytes) -> dict[str, Any]:
    return png_info(data) if obj.suffix == ".png" else jpeg_info(data)
