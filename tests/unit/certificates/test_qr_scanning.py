"""The presentation QR scans: its SVG, drawn to pixels, decodes back to the token (zxing-cpp).

The codes are written by zint (inside zxing-cpp) and read here by zxing-cpp's own decoder, a
separate code base, from pixels rasterized from the SVG the API returns; segno, a third encoder,
says which version the code should have.
"""

from __future__ import annotations

import random
import string

import pytest
import segno
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from app.certificates.qr import QR_BORDER, QR_MASK, QR_SCALE, qr_svg
from app.certificates.tokens import generate_signing_key, sign_presentation
from tests.svg_pixels import svg_pixels

BASE64URL = string.ascii_letters + string.digits + "-_"
SIGNING_KEY = generate_signing_key()


def scan(svg: str) -> zxingcpp.Barcode:
    """The one QR code a reader finds in the SVG's pixels."""
    pixels, width, height = svg_pixels(svg)
    found = zxingcpp.read_barcodes(zxingcpp.ImageView(pixels, width, height,
                                                      zxingcpp.ImageFormat.Lum),
                                   formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"{len(found)} QR codes found"
    return found[0]


def token_shaped(length: int) -> str:
    """Base64url text of exactly `length` characters with a JWS's two dots (86-char signature)."""
    chosen = random.Random(length).choices(BASE64URL, k=length)
    chosen[36] = chosen[length - 87] = "."
    return "".join(chosen)


@pytest.mark.parametrize("length", range(200, 801, 50))
def test_a_token_of_200_to_800_characters_scans_back_unchanged_at_segnos_version_and_q(length):
    token = token_shaped(length)
    code = scan(qr_svg(token))
    assert code.text == token
    assert code.extra["ECLevel"] == "Q"
    assert int(code.extra["Version"]) == segno.make(token, error="q", micro=False).version
    assert code.extra["DataMask"] == QR_MASK


@settings(max_examples=20, deadline=None, database=None)
@given(fields=st.dictionaries(
    st.sampled_from(["name", "ethnicity", "address", "licence_class", "employer"]),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=40),
    max_size=5),
    purpose=st.text(min_size=1, max_size=64))
def test_a_signed_presentation_token_scans_back_unchanged(fields, purpose):
    token = sign_presentation(SIGNING_KEY, {"jti": "0f8fad5bd9cb469fa16570867728950e",
                                            "purpose": purpose, "cert_type": "id_card",
                                            "fields": fields}, now=1_795_000_000)
    code = scan(qr_svg(token))
    assert code.text == token
    assert code.extra["ECLevel"] == "Q"


def test_a_short_text_scans_at_h_when_that_costs_no_extra_size():
    code = scan(qr_svg("x"))
    assert code.text == "x"
    assert (code.extra["Version"], code.extra["ECLevel"]) == ("1", "H")


def test_the_code_sits_inside_a_white_quiet_zone_of_4_modules():
    svg = qr_svg(token_shaped(400))
    pixels, width, height = svg_pixels(svg)
    margin = QR_BORDER * QR_SCALE
    rows = [pixels[row * width:(row + 1) * width] for row in range(height)]
    assert all(set(row) == {255} for row in rows[:margin] + rows[height - margin:])
    assert all(set(row[:margin] + row[width - margin:]) == {255} for row in rows)
    # The top-left finder pattern starts right at the quiet zone's edge.
    assert rows[margin][margin] == 0 and rows[margin - 1][margin] == 255
