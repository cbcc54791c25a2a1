"""QR codes of presentation tokens as inline SVG (app/certificates/qr.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import segno

from app.certificates.qr import QR_BORDER, QR_MASK, QR_SCALE, make_qr, qr_svg
from app.certificates.tokens import generate_signing_key, sign_presentation

SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"


def create_token() -> str:
    claims = {"type": "id_card", "disclosed": {"姓名": "张三"}, "purpose": "酒店入住登记",
              "jti": "4c1d-presentation"}
    return sign_presentation(generate_signing_key(), claims, now=1_795_000_000)


def test_a_token_qr_is_a_full_size_code_at_segnos_version_and_error_correction():
    token = create_token()
    code = make_qr(token)
    reference = segno.make(token, error="q", micro=False)
    assert code.size == 17 + 4 * code.version  # full size: a micro QR is 11 to 17 modules
    assert (code.version, code.error) == (reference.version, reference.error)
    assert code.mask == QR_MASK


def test_a_short_text_gets_q_raised_to_h_for_free_but_never_below_q():
    assert make_qr("x").error == "H"


def test_the_svg_is_one_inline_element_with_a_path_and_no_xml_declaration():
    svg = qr_svg(create_token())
    assert svg.startswith("<svg")
    assert "<?xml" not in svg and "\n" not in svg
    root = ET.fromstring(svg)  # well-formed, and with the namespace a data: URI image needs
    assert root.tag == f"{SVG_NAMESPACE}svg"
    assert root.find(f"{SVG_NAMESPACE}path") is not None


def test_the_svg_is_sized_for_the_code_with_a_4_module_quiet_zone():
    token = create_token()
    width = int(re.search(r'width="(\d+)"', qr_svg(token)).group(1))
    assert width == (make_qr(token).size + 2 * QR_BORDER) * QR_SCALE


def test_the_svg_keeps_module_edges_sharp_when_scaled():
    root = ET.fromstring(qr_svg(create_token()))
    units = make_qr(create_token()).size + 2 * QR_BORDER
    assert root.get("viewBox") == f"0 0 {units} {units}"
    assert root.get("shape-rendering") == "crispEdges"
