"""Hypothesis strategies for made-up identifiers; kept out of app/ so app never needs hypothesis."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from app.privacy.identifiers import PROVINCES, USCC_ALPHABET
from app.seed.fake_identifiers import MAX_USCC_SERIAL, fake_id_number, fake_uscc


@st.composite
def region_codes(draw: st.DrawFn) -> str:
    """Region codes with a known province: province, prefecture or county level."""
    province = draw(st.sampled_from(sorted(PROVINCES)))
    prefecture = draw(st.integers(min_value=0, max_value=99))
    county = draw(st.integers(min_value=0, max_value=99)) if prefecture else 0
    return f"{province}{prefecture:02d}{county:02d}"


def birth_dates() -> st.SearchStrategy[date]:
    """Birth dates a resident ID may carry: from 1900-01-01 to today."""
    return st.dates(min_value=date(1900, 1, 1), max_value=date.today())


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """Valid, made-up resident ID numbers."""
    return fake_id_number(
        region_code=draw(region_codes()),
        birth_date=draw(birth_dates()),
        sequence=draw(st.integers(min_value=0, max_value=999)),
    )


@st.composite
def usccs(draw: st.DrawFn) -> str:
    """Valid, made-up unified social credit codes."""
    return fake_uscc(
        region_code=draw(region_codes()),
        serial=draw(st.integers(min_value=0, max_value=MAX_USCC_SERIAL)),
        authority=draw(st.sampled_from(USCC_ALPHABET)),
        entity_type=draw(st.sampled_from(USCC_ALPHABET)),
    )
