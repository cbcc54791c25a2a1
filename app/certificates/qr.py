"""QR codes for presentation tokens, as inline SVG."""

from __future__ import annotations

import io

import segno

# Scale 4 px per module with the 4-module quiet zone the QR standard requires: a typical
# token (version ~20, about 100 modules) renders about 430 px wide, readable from a phone screen.
QR_SCALE = 4
QR_BORDER = 4


def make_qr(data: str) -> segno.QRCode:
    """A full-size QR code at error correction Q or better (segno boosts it when free)."""
    # Q survives ~25% damage: cracked screens, glare and thumbs on a phone held to a scanner.
    return segno.make(data, error="q", micro=False)


def qr_svg(data: str) -> str:
    """The QR code of data as one SVG element (no XML declaration), to inline in JSON or HTML."""
    out = io.BytesIO()
    # Not svg_inline(): it drops the xmlns, without which the SVG fails as a data: URI image
    # (what a mini program's <image> needs); inline HTML does not mind the attribute.
    make_qr(data).save(
        out, kind="svg", scale=QR_SCALE, border=QR_BORDER, xmldecl=False, svgns=True, nl=False
    )
    return out.getvalue().decode("utf-8")
