"""QR codes for presentation tokens, as inline SVG."""

from __future__ import annotations

import re
from dataclasses import dataclass

import zxingcpp

# Scale 4 px per module with the 4-module quiet zone the QR standard requires: a typical
# token (version ~20, about 100 modules) renders about 430 px wide, readable from a phone screen.
QR_SCALE = 4
QR_BORDER = 4

# ISO/IEC 18004 lets the encoder pick any of the 8 data masks: a reader takes the mask from the
# format information, and the penalty score only steers away from finder-like patterns and
# large blocks. Scoring all 8 costs ~2-3 ms a code even in C (50-80 ms in pure Python). On
# presentation tokens (high-entropy base64url) mask 2 has the lowest mean penalty, is the
# best of the 8 most often and stays within ~18% of the best (bench/qr_masks.py records it).
QR_MASK = 2

# One match per dark run, with the light modules before it: what one path step draws.
_RUNS = re.compile(rb"\xff*\x00+")


class _Steps(dict[bytes, str]):
    """Path steps by run ("m<light> 0h<dark>"), each formatted once per process."""

    # Formatting is most of the SVG's cost and runs repeat; light + dark <= 177 modules bounds
    # the table at ~16k entries.
    def __missing__(self, run: bytes) -> str:
        light = len(run) - len(run.lstrip(b"\xff"))
        step = self[run] = f"m{light} 0h{len(run) - light}"
        return step


_STEPS = _Steps()


@dataclass(frozen=True)
class QrCode:
    """A full-size QR code: its version, error correction level, mask and module rows."""

    version: int
    error: str
    mask: int
    rows: tuple[bytes, ...]  # one byte a module: 0 dark, 255 light; no quiet zone

    @property
    def size(self) -> int:
        """Modules per side, without the quiet zone."""
        return len(self.rows)


def _encode(data: str, error: str, version: int = 0) -> QrCode:
    # 8-bit byte mode (ASCII tokens need no ECI), the smallest version that fits unless one
    # is given; zxing-cpp writes QR codes with zint, in C.
    options = {"version": version} if version else {}
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level=error,
                                   data_mask=QR_MASK, **options)
    image = code.to_image(scale=1, add_quiet_zones=False)
    size = image.shape[1]
    pixels = bytes(memoryview(image))
    rows = tuple(pixels[start:start + size] for start in range(0, len(pixels), size))
    return QrCode(version=(size - 17) // 4, error=error, mask=QR_MASK, rows=rows)


def make_qr(data: str) -> QrCode:
    """A full-size QR code at error correction Q, or H when that fits the same version."""
    # Q survives ~25% damage: cracked screens, glare and thumbs on a phone held to a scanner.
    code = _encode(data, "Q")
    try:
        return _encode(data, "H", code.version)
    except ValueError:  # H needs a larger version: keep Q rather than grow the code
        return code


def svg_path(code: QrCode, border: int = QR_BORDER) -> str:
    """The dark modules as path data: one horizontal 1-unit stroke per run, relative moves."""
    # Strokes run along each row's middle; the pen ends each row where its last run ends.
    parts = [f"M{border} {border}.5"]
    pen_x, pen_y = 0, 0
    for y, row in enumerate(code.rows):
        runs = _RUNS.findall(row)
        if not runs:
            continue
        first = runs[0]
        light = len(first) - len(first.lstrip(b"\xff"))
        parts.append(f"m{light - pen_x} {y - pen_y}h{len(first) - light}")
        parts += map(_STEPS.__getitem__, runs[1:])
        pen_x, pen_y = len(row.rstrip(b"\xff")), y
    return "".join(parts)


def qr_svg(data: str) -> str:
    """The QR code of data as one SVG element (no XML declaration), to inline in JSON or HTML."""
    code = make_qr(data)
    units = code.size + 2 * QR_BORDER
    pixels = units * QR_SCALE
    # The xmlns stays: without it the SVG fails as a data: URI image (what a mini program's
    # <image> needs). crispEdges keeps module edges sharp when the client scales the image.
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{pixels}" height="{pixels}"'
            f' viewBox="0 0 {units} {units}" shape-rendering="crispEdges">'
            f'<path stroke="#000" d="{svg_path(code)}"/></svg>')
