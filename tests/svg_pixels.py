"""A tiny rasterizer for the QR SVG the API returns: path strokes to 8-bit grey pixels.

It reads only what a viewer reads (width, height, viewBox, the path's stroke and its data), so a
QR decoded from its pixels shows what a client draws, not what the encoder meant. It knows
horizontal strokes with butt caps and refuses anything else, so a change in the SVG's form
fails loudly rather than rendering wrong.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
_TOKENS = re.compile(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)")


def horizontal_strokes(data: str) -> list[tuple[float, float, float]]:
    """The (x from, x to, y) of each horizontal segment in SVG path data of M/m/H/h commands."""
    tokens = _TOKENS.findall(data)
    strokes: list[tuple[float, float, float]] = []
    x = y = 0.0
    command = ""
    index = 0
    while index < len(tokens):
        if tokens[index].isalpha():
            command = tokens[index]
            index += 1
        if command in "Mm":
            dx, dy = float(tokens[index]), float(tokens[index + 1])
            x, y = (x + dx, y + dy) if command == "m" else (dx, dy)
            index += 2
            command = "l" if command == "m" else "L"  # later pairs are line-tos (SVG 9.3.3)
        elif command in "Hh":
            end = float(tokens[index]) + (x if command == "h" else 0.0)
            strokes.append((x, end, y))
            x = end
            index += 1
        else:
            raise NotImplementedError(f"path command {command!r} is not drawn here")
    return strokes


def svg_pixels(svg: str) -> tuple[bytes, int, int]:
    """The SVG as grey pixels (0 black, 255 white) at its width and height, and those sizes."""
    root = ET.fromstring(svg)
    width, height = int(root.get("width")), int(root.get("height"))
    min_x, min_y, box_width, box_height = map(float, root.get("viewBox").split())
    scale_x, scale_y = width / box_width, height / box_height
    pixels = bytearray(b"\xff" * (width * height))
    for path in root.iter(f"{SVG}path"):
        if path.get("transform") or path.get("stroke") not in ("#000", "#000000", "black"):
            raise NotImplementedError("only untransformed black strokes are drawn here")
        half = float(path.get("stroke-width", "1")) / 2
        for x_from, x_to, y in horizontal_strokes(path.get("d")):
            # A pixel is black when its centre lies in the stroke's rectangle (butt caps).
            first_row = math.ceil((y - half - min_y) * scale_y - 0.5)
            end_row = math.ceil((y + half - min_y) * scale_y - 0.5)
            first_column = max(math.ceil((min(x_from, x_to) - min_x) * scale_x - 0.5), 0)
            end_column = min(math.ceil((max(x_from, x_to) - min_x) * scale_x - 0.5), width)
            for row in range(max(first_row, 0), min(end_row, height)):
                start = row * width
                pixels[start + first_column:start + end_column] = bytes(end_column - first_column)
    return bytes(pixels), width, height
