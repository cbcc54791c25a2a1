"""The demo e-certificate data files are complete, consistent and free of personal numbers."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.models.catalog import USER_AUDIENCES
from app.privacy.identifiers import (
    InvalidIdentifier,
    is_valid_cert_identifier,
    make_cert_identifier,
    parse_uscc,
)
from app.seed.fake_identifiers import fake_id_number, fake_uscc
from app.seed.identity import DEMO_ENTERPRISES, DEMO_PEOPLE

DATA_DIR = Path(__file__).resolve().parents[3] / "app" / "seed" / "data"
TYPES_FILE = "certificate_types.json"
HOLDINGS_FILE = "certificate_holdings.json"
TODAY = date(2026, 11, 22)  # the demo's "today": expiry reminders are relative to it

TYPE_KEYS = {"code", "type_code", "name", "issuer", "issuer_uscc", "holder_kind",
             "validity_years", "number_field", "fields"}
FIELD_KEYS = {"name", "label", "sensitive", "display"}
HOLDING_KEYS = {"holder", "type", "serial", "fields", "issued_at", "expires_at", "revoked"}
# Filled in by the seeder from the demo person or enterprise, never written in the data file.
SEEDER_PERSONAL_FIELDS = {"name", "number", "gender", "birth_date"}
SEEDER_ENTERPRISE_FIELDS = {"name", "number", "uscc"}
# Types whose printed certificate carries the holder's birth date; presentations derive
# age_over_18 / age_over_60 from it.
BIRTH_DATE_TYPES = {
    "id_card", "driving_licence", "social_security_card", "residence_permit",
    "household_register", "disability_certificate", "retirement_certificate",
    "senior_citizen_card",
}
ALWAYS_SENSITIVE = {"number", "birth_date", "address"}
TYPE_CODE = re.compile(r"[0-9A-Z]{5}")
SLUG = re.compile(r"[a-z][a-z0-9_]*")
SERIAL = re.compile(r"[0-9]+")
ID_NUMBER_LIKE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
ID_DIGITS_RUN = re.compile(r"[0-9]{15,}")
MOBILE_LIKE = re.compile(r"(?<![0-9])(?:\+?86)?1[3-9][0-9]{9}(?![0-9])")


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def types() -> list[dict[str, Any]]:
    return _load(TYPES_FILE)["types"]


@pytest.fixture(scope="module")
def holdings() -> list[dict[str, Any]]:
    return _load(HOLDINGS_FILE)["holdings"]


@pytest.fixture(scope="module")
def types_by_code(types) -> dict[str, dict[str, Any]]:
    return {t["code"]: t for t in types}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *_strings(item)]]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _date(value: str) -> date:
    return date.fromisoformat(value)


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("name", [TYPES_FILE, HOLDINGS_FILE])
def test_files_are_utf8_json_with_version_1(name):
    document = json.loads((DATA_DIR / name).read_bytes().decode("utf-8"))
    assert document["version"] == 1
    assert set(document) == {"version", "types" if name == TYPES_FILE else "holdings"}


@pytest.mark.parametrize("name", [TYPES_FILE, HOLDINGS_FILE])
def test_no_value_looks_like_an_id_number_or_mobile(name):
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    assert ID_NUMBER_LIKE.search(text) is None
    assert MOBILE_LIKE.search(text) is None
    for value in _strings(json.loads(text)):
        assert ID_DIGITS_RUN.search(value) is None, value
        assert MOBILE_LIKE.search(value.replace(" ", "").replace("-", "")) is None, value


def test_the_number_scans_would_catch_a_generated_id_number():
    number = fake_id_number("530102", date(1990, 5, 12), 31)
    assert ID_NUMBER_LIKE.search(f"证号{number}。") is not None
    assert MOBILE_LIKE.search("电话" + "139" + "0" * 8) is not None


# ---------------------------------------------------------------- types


def test_enough_types_with_unique_codes(types):
    assert len(types) >= 24
    for key in ("code", "type_code", "name"):
        counts = Counter(t[key] for t in types)
        assert [value for value, n in counts.items() if n > 1] == [], key


def test_every_type_materials_refer_to_exists(types_by_code):
    items = _load("services.json")["items"]
    named = {m["certificate_type"] for item in items for m in item["materials"]} - {None}
    assert sorted(named - set(types_by_code)) == []


def test_required_types_are_present_with_their_names(types_by_code):
    expected = {
        "id_card": "居民身份证", "driving_licence": "机动车驾驶证",
        "vehicle_licence": "机动车行驶证", "social_security_card": "社会保障卡",
        "medical_insurance_code": "医保电子凭证", "marriage_certificate": "结婚证",
        "divorce_certificate": "离婚证", "birth_medical_certificate": "出生医学证明",
        "residence_permit": "居住证", "real_estate_certificate": "不动产权证书",
        "business_licence": "营业执照", "food_business_licence": "食品经营许可证",
    }
    assert {code: types_by_code[code]["name"] for code in expected} == expected


def test_type_shapes(types):
    for t in types:
        assert set(t) == TYPE_KEYS, t["code"]
        assert SLUG.fullmatch(t["code"]), t["code"]
        assert TYPE_CODE.fullmatch(t["type_code"]), t["type_code"]
        assert t["holder_kind"] in USER_AUDIENCES, t["code"]
        assert t["name"] and t["issuer"], t["code"]
        years = t["validity_years"]
        assert years is None or (isinstance(years, int) and not isinstance(years, bool)
                                 and 1 <= years <= 30), t["code"]


def test_type_code_prefix_matches_holder_kind(types):
    for t in types:
        assert t["type_code"][0] == ("C" if t["holder_kind"] == "personal" else "E"), t["code"]


def test_issuer_usccs_are_valid_government_bodies_in_yunnan(types):
    for t in types:
        code = t["issuer_uscc"]
        assert parse_uscc(code) == code, t["code"]
        assert code[:2] == "11", t["code"]  # 机构编制 authority, 机关 entity
        region = "530100" if t["issuer"].startswith("昆明市") else "530000"
        assert code[2:8] == region, t["code"]


def test_issuer_usccs_are_one_per_issuing_department(types):
    by_issuer: dict[str, set[str]] = {}
    by_code: dict[str, set[str]] = {}
    for t in types:
        by_issuer.setdefault(t["issuer"], set()).add(t["issuer_uscc"])
        by_code.setdefault(t["issuer_uscc"], set()).add(t["issuer"])
    assert {k: v for k, v in by_issuer.items() if len(v) > 1} == {}
    assert {k: v for k, v in by_code.items() if len(v) > 1} == {}


def test_issuer_usccs_are_not_demo_enterprise_codes(types):
    enterprise_codes = {fake_uscc(region, serial) for serial, _, region, _, _ in DEMO_ENTERPRISES}
    assert {t["issuer_uscc"] for t in types} & enterprise_codes == set()


def test_fields_are_well_formed_and_unique(types):
    for t in types:
        names = [f["name"] for f in t["fields"]]
        assert len(names) == len(set(names)), t["code"]
        labels = [f["label"] for f in t["fields"]]
        assert len(labels) == len(set(labels)), t["code"]
        for field in t["fields"]:
            assert set(field) == FIELD_KEYS, (t["code"], field)
            assert SLUG.fullmatch(field["name"]), (t["code"], field)
            assert field["label"], (t["code"], field)
            assert isinstance(field["sensitive"], bool), (t["code"], field)
            assert isinstance(field["display"], bool), (t["code"], field)


def test_required_fields_per_holder_kind(types):
    for t in types:
        names = {f["name"] for f in t["fields"]}
        required = {"name", "number"} if t["holder_kind"] == "personal" else {
            "name", "number", "uscc"}
        assert required <= names, t["code"]
        assert t["number_field"] in names, t["code"]


def test_birth_date_on_the_types_that_show_it(types_by_code):
    for code in BIRTH_DATE_TYPES:
        assert "birth_date" in {f["name"] for f in types_by_code[code]["fields"]}, code
    for t in types_by_code.values():
        if t["holder_kind"] == "enterprise":
            assert "birth_date" not in {f["name"] for f in t["fields"]}, t["code"]


def test_sensitive_and_display_flags(types):
    for t in types:
        fields = {f["name"]: f for f in t["fields"]}
        assert fields["name"]["display"] and not fields["name"]["sensitive"], t["code"]
        assert any(f["display"] for f in t["fields"]), t["code"]
        for field in t["fields"]:
            assert not (field["sensitive"] and field["display"]), (t["code"], field["name"])
        if t["holder_kind"] == "personal":
            for name in ALWAYS_SENSITIVE & set(fields):
                assert fields[name]["sensitive"], (t["code"], name)
        else:
            assert fields["uscc"]["display"] and not fields["uscc"]["sensitive"], t["code"]
    driving = next(t for t in types if t["code"] == "driving_licence")
    shown = {f["name"] for f in driving["fields"] if f["display"]}
    assert {"name", "licence_class"} <= shown
    business = next(t for t in types if t["code"] == "business_licence")
    shown = {f["name"] for f in business["fields"] if f["display"]}
    assert {"name", "uscc", "legal_representative", "business_scope"} <= shown


def test_no_binary_fields(types):
    for t in types:
        for field in t["fields"]:
            assert not re.search(r"photo|image|picture|signature|照片|头像", field["name"]
                                 + field["label"]), (t["code"], field)


# ---------------------------------------------------------------- holdings


def test_enough_holdings_with_valid_shape(holdings):
    assert len(holdings) >= 18
    for h in holdings:
        assert set(h) == HOLDING_KEYS, h
        assert len(h["holder"]) == 1 and set(h["holder"]) <= {"openid", "enterprise_serial"}, h
        assert isinstance(h["serial"], str) and SERIAL.fullmatch(h["serial"]), h
        assert isinstance(h["fields"], dict), h
        assert all(isinstance(v, str) and v for v in h["fields"].values()), h


def test_serials_are_unique_per_type(holdings):
    counts = Counter((h["type"], h["serial"]) for h in holdings)
    assert [key for key, n in counts.items() if n > 1] == []


def test_holdings_reference_known_types_and_holders(holdings, types_by_code):
    openids = {person[0] for person in DEMO_PEOPLE}
    serials = {enterprise[0] for enterprise in DEMO_ENTERPRISES}
    for h in holdings:
        assert h["type"] in types_by_code, h["type"]
        holder = h["holder"]
        kind = types_by_code[h["type"]]["holder_kind"]
        if "openid" in holder:
            assert holder["openid"] in openids, holder
            assert kind == "personal", (h["type"], holder)
        else:
            assert holder["enterprise_serial"] in serials, holder
            assert kind == "enterprise", (h["type"], holder)


def test_every_holding_makes_a_valid_identifier(holdings, types_by_code):
    identifiers = set()
    for h in holdings:
        t = types_by_code[h["type"]]
        try:
            identifier = make_cert_identifier(t["type_code"], t["issuer_uscc"], h["serial"])
        except InvalidIdentifier as error:  # pragma: no cover - reported as a failure
            pytest.fail(f"{h['type']} {h['serial']}: {error.message}")
        assert is_valid_cert_identifier(identifier), identifier
        assert identifier.split(".")[5:8] == [t["type_code"], t["issuer_uscc"], h["serial"]]
        identifiers.add(identifier)
    assert len(identifiers) == len(holdings)


def test_holding_fields_are_declared_and_leave_seeder_fields_alone(holdings, types_by_code):
    for h in holdings:
        t = types_by_code[h["type"]]
        declared = {f["name"] for f in t["fields"]}
        assert set(h["fields"]) - declared == set(), h["type"]
        reserved = (SEEDER_PERSONAL_FIELDS if t["holder_kind"] == "personal"
                    else SEEDER_ENTERPRISE_FIELDS)
        assert set(h["fields"]) & reserved == set(), h["type"]


def test_dates_are_iso_and_in_order(holdings):
    for h in holdings:
        issued = _date(h["issued_at"])
        assert date(1990, 1, 1) <= issued <= TODAY, h
        if h["expires_at"] is not None:
            assert _date(h["expires_at"]) > issued, h
        for name, value in h["fields"].items():
            if name.endswith(("_date", "_on")) or name == "valid_from":
                assert _date(value) <= TODAY, (h["type"], name)
            elif name == "valid_until" and value != "长期":
                _date(value)


def test_validity_fields_agree_with_issue_and_expiry(holdings):
    for h in holdings:
        fields = h["fields"]
        if "valid_from" in fields:
            assert fields["valid_from"] == h["issued_at"], h["type"]
        if "valid_until" in fields:
            expected = h["expires_at"] if h["expires_at"] is not None else "长期"
            assert fields["valid_until"] == expected, h["type"]


def test_personal_holdings_are_consistent_with_the_holder(holdings):
    births = {person[0]: person[4] for person in DEMO_PEOPLE}
    for h in holdings:
        openid = h["holder"].get("openid")
        if openid is None:
            continue
        born = births[openid]
        assert _date(h["issued_at"]) > born, h
        for name in ("first_issue_date", "valid_from", "enrollment_date"):
            if name in h["fields"]:
                assert _date(h["fields"][name]) > born + timedelta(days=365 * 16), h


def test_expiry_and_revocation_scenarios(holdings):
    soon = [h for h in holdings if h["expires_at"] is not None
            and TODAY < _date(h["expires_at"]) <= TODAY + timedelta(days=30)]
    expired = [h for h in holdings if h["expires_at"] is not None
               and _date(h["expires_at"]) <= TODAY]
    revoked = [h for h in holdings if h["revoked"] is not None]
    assert len(soon) >= 2
    assert {h["type"] for h in soon} >= {"driving_licence", "food_business_licence"}
    assert len(expired) >= 1
    assert len(revoked) == 1
    assert isinstance(revoked[0]["revoked"], dict) and revoked[0]["revoked"]["reason"]
    assert set(revoked[0]["revoked"]) == {"reason"}


def test_each_demo_person_and_enterprise_holds_its_basic_certificate(holdings):
    def active(h: dict[str, Any]) -> bool:
        return h["revoked"] is None and (
            h["expires_at"] is None or _date(h["expires_at"]) > TODAY)

    held = Counter((json.dumps(h["holder"], sort_keys=True), h["type"])
                   for h in holdings if active(h))
    for person in DEMO_PEOPLE:
        key = json.dumps({"openid": person[0]})
        assert held[(key, "id_card")] == 1, person[0]
    for enterprise in DEMO_ENTERPRISES:
        key = json.dumps({"enterprise_serial": enterprise[0]})
        assert held[(key, "business_licence")] == 1, enterprise[1]
    citizen = json.dumps({"openid": "demo-citizen-1"})
    for code in ("driving_licence", "vehicle_licence", "social_security_card",
                 "medical_insurance_code", "education_certificate"):
        assert held[(citizen, code)] == 1, code


def test_enterprise_legal_representative_matches_demo_person(holdings):
    names = {"demo-legal-rep-1": "张丽华"}
    reps = {serial: rep for serial, _, _, _, rep in DEMO_ENTERPRISES}
    for h in holdings:
        serial = h["holder"].get("enterprise_serial")
        if serial is None or "legal_representative" not in h["fields"]:
            continue
        rep = reps[serial]
        if isinstance(rep, str):
            assert h["fields"]["legal_representative"] == names[rep], h["type"]
