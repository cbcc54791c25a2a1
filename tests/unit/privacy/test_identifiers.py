"""Check characters, formats and rejection messages of Chinese identifiers (ids.md)."""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric, uscc
from stdnum.iso7064 import mod_37_36

from app.privacy.identifiers import (
    PROVINCES,
    SERVICE_ITEM_TYPES,
    USCC_ALPHABET,
    IdNumberFacts,
    InvalidIdentifier,
    cert_identifier_check,
    id_check_character,
    is_valid_cert_identifier,
    make_cert_identifier,
    normalize_phone,
    parse_id_number,
    parse_region_code,
    parse_service_item_code,
    parse_uscc,
    region_ancestors,
    uscc_check_character,
)
from app.seed.fake_identifiers import MAX_USCC_SERIAL, fake_id_number, fake_uscc
from tests.strategies import id_numbers, region_codes, usccs

TODAY = date(2024, 6, 15)


def with_check(first17: str) -> str:
    """A full ID number from its first 17 digits, so only the part under test is wrong."""
    return first17 + id_check_character(first17)


def rejection_message(value: str, today: date = TODAY) -> str:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_id_number(value, today=today)
    return caught.value.message


# ---------------------------------------------------------------------------
# Resident ID number: the vectors of ids.md


def test_id_number_example_from_jiangxi_is_valid() -> None:
    assert parse_id_number("360426199101010071") == IdNumberFacts(
        number="360426199101010071",
        region_code="360426",
        province_code="36",
        birth_date=date(1991, 1, 1),
        gender="male",
    )


def test_id_number_example_with_x_check_character_is_valid() -> None:
    facts = parse_id_number("44011320141005001X")
    assert facts.birth_date == date(2014, 10, 5)
    assert facts.province_code == "44"
    assert PROVINCES[facts.province_code] == "广东省"


def test_check_characters_of_the_examples_are_computed() -> None:
    assert id_check_character("36042619910101007") == "1"
    assert id_check_character("44011320141005001") == "X"


def test_lowercase_x_is_accepted_and_upper_cased() -> None:
    assert parse_id_number(" 44011320141005001x ").number == "44011320141005001X"


def test_even_sequence_means_female() -> None:
    assert parse_id_number(fake_id_number(sequence=2)).gender == "female"


def test_province_list_has_the_34_province_level_divisions() -> None:
    assert len(PROVINCES) == 34
    assert PROVINCES["53"] == "云南省"
    assert {"71", "81", "82"} <= PROVINCES.keys()


# ---------------------------------------------------------------------------
# Resident ID number: every rejection reason


@pytest.mark.parametrize(
    "value", ["", "36042619910101007", "3604261991010100711", "360426910101007"]
)
def test_id_number_of_wrong_length_is_rejected(value: str) -> None:
    assert rejection_message(value) == "身份证号码应为18位"


@pytest.mark.parametrize(
    "value",
    ["36042619910101A071", "X60426199101010071", "36042619910101007Y", "３60426199101010071"],
)
def test_id_number_with_characters_other_than_digits_and_final_x_is_rejected(value: str) -> None:
    assert rejection_message(value) == "身份证号码格式错误"


@pytest.mark.parametrize("province", ["00", "10", "20", "39", "55", "66", "72", "83", "99"])
def test_id_number_with_unknown_province_is_rejected(province: str) -> None:
    assert rejection_message(with_check(f"{province}010219900101001")) == "地区代码无效"


@pytest.mark.parametrize("birth", ["19900231", "19900229", "19901301", "19900100", "19900431"])
def test_id_number_with_impossible_calendar_date_is_rejected(birth: str) -> None:
    assert rejection_message(with_check(f"530102{birth}001")) == "出生日期无效"


def test_id_number_with_31_february_is_rejected() -> None:
    assert rejection_message(with_check("53010219900231001")) == "出生日期无效"


def test_id_number_born_on_29_february_of_a_leap_year_is_valid() -> None:
    assert parse_id_number(with_check("53010220000229001")).birth_date == date(2000, 2, 29)


def test_id_number_born_before_1900_is_rejected() -> None:
    assert rejection_message(with_check("53010218991231001")) == "出生日期无效"


def test_id_number_born_on_1_january_1900_is_valid() -> None:
    assert parse_id_number(with_check("53010219000101001")).birth_date == date(1900, 1, 1)


def test_id_number_born_tomorrow_is_rejected() -> None:
    assert rejection_message(with_check("53010220240616001")) == "出生日期不能晚于今天"


def test_id_number_born_today_is_valid() -> None:
    assert parse_id_number(with_check("53010220240615001"), today=TODAY).birth_date == TODAY


def test_id_number_with_wrong_check_character_is_rejected() -> None:
    assert rejection_message("360426199101010072") == "身份证号码校验位错误"
    assert rejection_message("440113201410050011") == "身份证号码校验位错误"


def test_check_character_needs_17_digits() -> None:
    with pytest.raises(InvalidIdentifier):
        id_check_character("3604261991010100")


# ---------------------------------------------------------------------------
# Resident ID number: properties


@given(id_numbers())
def test_generated_id_numbers_always_parse(number: str) -> None:
    facts = parse_id_number(number)
    assert facts.number == number
    assert facts.region_code == number[:6]
    assert f"{facts.birth_date:%Y%m%d}" == number[6:14]


@given(id_numbers())
def test_id_check_character_agrees_with_python_stdnum(number: str) -> None:
    assert id_check_character(number[:17]) == ric.calc_check_digit(number)


@given(id_numbers(), st.data())
def test_changing_any_one_character_of_an_id_number_makes_it_invalid(
    number: str, data: st.DataObject
) -> None:
    position = data.draw(st.integers(min_value=0, max_value=17), label="position")
    choices = string.digits + ("X" if position == 17 else "")
    replacement = data.draw(st.sampled_from(choices).filter(lambda c: c != number[position]))
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        parse_id_number(changed)


# ---------------------------------------------------------------------------
# Unified social credit code


@pytest.mark.parametrize("code", ["91110000600037341L", "91310115MA1K3BTP2B", "92340621MA2UK3PJXE"])
def test_uscc_examples_of_ids_md_are_valid(code: str) -> None:
    assert parse_uscc(code) == code
    assert uscc_check_character(code[:17]) == code[17]


def test_uscc_is_upper_cased() -> None:
    assert parse_uscc(" 91310115ma1k3btp2b ") == "91310115MA1K3BTP2B"


def test_uscc_alphabet_leaves_out_i_o_s_v_z() -> None:
    assert len(USCC_ALPHABET) == 31
    assert not set("IOSVZ") & set(USCC_ALPHABET)


@pytest.mark.parametrize("code", ["", "91110000600037341", "91110000600037341LL"])
def test_uscc_of_wrong_length_is_rejected(code: str) -> None:
    with pytest.raises(InvalidIdentifier, match="统一社会信用代码应为18位"):
        parse_uscc(code)


@pytest.mark.parametrize("letter", [*"IOSVZ-", "Ａ"])
def test_uscc_with_character_outside_its_alphabet_is_rejected(letter: str) -> None:
    with pytest.raises(InvalidIdentifier, match="统一社会信用代码含有无效字符"):
        parse_uscc(f"91310115MA1K3BT{letter}2B")


def test_uscc_with_wrong_check_character_is_rejected() -> None:
    with pytest.raises(InvalidIdentifier, match="统一社会信用代码校验位错误"):
        parse_uscc("91110000600037341M")


@given(usccs())
def test_generated_usccs_always_parse(code: str) -> None:
    assert parse_uscc(code) == code


@given(usccs())
def test_uscc_check_character_agrees_with_python_stdnum(code: str) -> None:
    assert uscc_check_character(code[:17]) == uscc.calc_check_digit(code[:17])


@given(usccs(), st.data())
def test_changing_any_one_character_of_a_uscc_makes_it_invalid(
    code: str, data: st.DataObject
) -> None:
    position = data.draw(st.integers(min_value=0, max_value=17), label="position")
    replacement = data.draw(st.sampled_from(USCC_ALPHABET).filter(lambda c: c != code[position]))
    with pytest.raises(InvalidIdentifier, match="校验位错误"):
        parse_uscc(code[:position] + replacement + code[position + 1 :])


# ---------------------------------------------------------------------------
# Mobile number


@pytest.mark.parametrize(
    "value",
    ["13812345678", "+8613812345678", "8613812345678", "+86 138-1234-5678", " 138 1234 5678 "],
)
def test_mobile_number_is_normalized_to_11_digits(value: str) -> None:
    assert normalize_phone(value) == "13812345678"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12812345678",
        "1381234567",
        "138123456789",
        "1381234567a",
        "+8513812345678",
        "+86+8613812345678",
        "１3812345678",
        "(138)12345678",
    ],
)
def test_malformed_mobile_number_is_rejected(value: str) -> None:
    with pytest.raises(InvalidIdentifier, match="手机号码格式错误"):
        normalize_phone(value)


# ---------------------------------------------------------------------------
# Region codes


def test_region_ancestors_go_from_county_to_province() -> None:
    assert region_ancestors("530102") == ["530102", "530100", "530000"]
    assert region_ancestors("530100") == ["530100", "530000"]
    assert region_ancestors("530000") == ["530000"]


def test_directly_administered_county_has_its_group_as_parent() -> None:
    assert region_ancestors("419001") == ["419001", "419000", "410000"]


@pytest.mark.parametrize("value", ["", "53010", "5301020", "53010a", "000000", "990100", "530002"])
def test_invalid_region_code_is_rejected(value: str) -> None:
    with pytest.raises(InvalidIdentifier, match="地区代码无效"):
        parse_region_code(value)


@given(region_codes())
def test_every_ancestor_of_a_region_code_is_a_prefix_region(code: str) -> None:
    chain = region_ancestors(code)
    assert chain[0] == code
    assert chain[-1] == code[:2] + "0000"
    assert all(parse_region_code(ancestor) == ancestor for ancestor in chain)


# ---------------------------------------------------------------------------
# E-certificate identifier


def test_cert_identifier_is_built_with_a_mod_37_36_check() -> None:
    identifier = make_cert_identifier("11100000000013338W001", "91110000600037341L", 42)
    body = "1.2.156.3005.2.11100000000013338W001.91110000600037341L.42.1"
    assert identifier == f"{body}.{mod_37_36.calc_check_digit(body.replace('.', ''))}"
    assert cert_identifier_check(body) == identifier[-1]
    assert is_valid_cert_identifier(identifier)


def test_cert_identifier_carries_its_version() -> None:
    identifier = make_cert_identifier("A1", "91310115MA1K3BTP2B", "0007", version=3)
    assert identifier.startswith("1.2.156.3005.2.A1.91310115MA1K3BTP2B.0007.3.")
    assert is_valid_cert_identifier(identifier.lower())


def test_cert_identifier_with_bad_issuer_uscc_cannot_be_made() -> None:
    with pytest.raises(InvalidIdentifier, match="校验位错误"):
        make_cert_identifier("A1", "91110000600037341M", 1)


@pytest.mark.parametrize(
    ("type_code", "serial", "version"), [("", 1, 1), ("A.1", 1, 1), ("A1", "1.2", 1), ("A1", 1, 0)]
)
def test_cert_identifier_with_malformed_parts_cannot_be_made(
    type_code: str, serial: str | int, version: int
) -> None:
    with pytest.raises(InvalidIdentifier):
        make_cert_identifier(type_code, "91110000600037341L", serial, version)


def test_cert_identifier_check_rejects_characters_outside_its_alphabet() -> None:
    with pytest.raises(InvalidIdentifier, match="电子证照标识格式错误"):
        cert_identifier_check("1.2.156.3005.2.A_1")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1.2.156.3005.1.A1.91110000600037341L.1.1.X",  # wrong prefix
        "1.2.156.3005.2.A1.91110000600037341L.1.X",  # a part missing
        "1.2.156.3005.2.A1.91110000600037341M.1.1.X",  # issuer USCC with bad check
    ],
)
def test_malformed_cert_identifier_is_invalid(value: str) -> None:
    assert not is_valid_cert_identifier(value)


def test_cert_identifier_with_leading_zero_version_is_invalid() -> None:
    body = "1.2.156.3005.2.A1.91110000600037341L.1.01"
    assert not is_valid_cert_identifier(f"{body}.{cert_identifier_check(body)}")


@given(usccs(), st.integers(min_value=0, max_value=10**12), st.data())
def test_changing_any_one_character_of_a_cert_identifier_makes_it_invalid(
    issuer: str, serial: int, data: st.DataObject
) -> None:
    identifier = make_cert_identifier("11100000000013338W001", issuer, serial)
    assert is_valid_cert_identifier(identifier)
    position = data.draw(st.integers(min_value=0, max_value=len(identifier) - 1))
    alphabet = string.digits + string.ascii_uppercase + "."
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != identifier[position]))
    assert not is_valid_cert_identifier(
        identifier[:position] + replacement + identifier[position + 1 :]
    )


# ---------------------------------------------------------------------------
# Service item codes


def test_service_item_code_is_normalized() -> None:
    assert parse_service_item_code(" xk00101001 ") == "XK00101001"


def test_all_eleven_service_item_types_are_known() -> None:
    assert len(SERVICE_ITEM_TYPES) == 11
    for item_type in SERVICE_ITEM_TYPES:
        assert parse_service_item_code(f"{item_type}12345678") == f"{item_type}12345678"


def test_service_item_code_of_unknown_type_is_rejected() -> None:
    with pytest.raises(InvalidIdentifier, match="事项类型未知"):
        parse_service_item_code("AB00101001")


@pytest.mark.parametrize("value", ["", "XK0010100", "XK001010011", "X100101001", "XK0010100A"])
def test_misshapen_service_item_code_is_rejected(value: str) -> None:
    with pytest.raises(InvalidIdentifier, match="事项编码格式错误"):
        parse_service_item_code(value)


# ---------------------------------------------------------------------------
# Fakes


def test_fake_id_number_defaults_to_a_man_born_1990_in_wuhua() -> None:
    facts = parse_id_number(fake_id_number())
    assert (facts.region_code, facts.birth_date, facts.gender) == (
        "530102",
        date(1990, 1, 1),
        "male",
    )


@pytest.mark.parametrize("sequence", [0, 1, 2, 998, 999])
@pytest.mark.parametrize("gender", ["male", "female"])
def test_fake_id_number_follows_the_requested_gender(sequence: int, gender: str) -> None:
    assert parse_id_number(fake_id_number(sequence=sequence, gender=gender)).gender == gender


def test_fake_id_number_keeps_a_sequence_that_already_fits_the_gender() -> None:
    assert fake_id_number(sequence=123, gender="male")[14:17] == "123"


def test_fake_id_number_cannot_be_born_in_the_future() -> None:
    with pytest.raises(InvalidIdentifier, match="出生日期不能晚于今天"):
        fake_id_number(birth_date=date(9999, 1, 1))


@pytest.mark.parametrize("sequence", [-1, 1000])
def test_fake_id_number_sequence_has_three_digits(sequence: int) -> None:
    with pytest.raises(ValueError, match="sequence"):
        fake_id_number(sequence=sequence)


def test_fake_uscc_is_deterministic_and_distinct_per_serial() -> None:
    assert fake_uscc(serial=7) == fake_uscc(serial=7)
    assert len({fake_uscc(serial=serial) for serial in range(200)}) == 200
    assert fake_uscc(serial=0)[:17] == "91530100000000000"


def test_fake_uscc_uses_its_arguments() -> None:
    code = fake_uscc(region_code="440113", serial=MAX_USCC_SERIAL, authority="5", entity_type="2")
    assert code.startswith("52440113YYYYYYYYY")


@pytest.mark.parametrize(
    "arguments",
    [{"serial": -1}, {"serial": MAX_USCC_SERIAL + 1}, {"authority": "I"}, {"entity_type": "12"}],
)
def test_fake_uscc_rejects_arguments_it_cannot_encode(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        fake_uscc(**arguments)
