"""Application forms: a filled form checked against its definition, and shown masked."""

from __future__ import annotations

import pytest

from app.cases.forms import MAX_FIELDS, check_form, masked_form
from app.platform.errors import InvalidInput
from tests.factories import create_regions
from tests.personal_numbers import new_id_number, new_phone_number

DEFINITION = {"fields": [
    {"name": "applicant", "label": "申请人", "type": "text", "required": True},
    {"name": "reason", "label": "申请事由", "type": "textarea"},
    {"name": "kind", "label": "类别", "type": "select", "options": ["首次", "补办"]},
    {"name": "copies", "label": "份数", "type": "number"},
    {"name": "moved_on", "label": "迁入日期", "type": "date"},
    {"name": "id_number", "label": "身份证号", "type": "id_number"},
    {"name": "phone", "label": "联系电话", "type": "phone"},
    {"name": "region", "label": "所在地区", "type": "region"},
    {"name": "agree", "label": "同意告知", "type": "boolean", "required": True},
]}


def field_error(filled: dict) -> tuple[str, list[str]]:
    with pytest.raises(InvalidInput) as caught:
        check_form(DEFINITION, filled)
    [(field, messages)] = caught.value.errors.items()
    return field, messages


def base(**values) -> dict:
    return {"applicant": "李明", "agree": True, **values}


def test_a_filled_form_comes_back_normalized(app_context):
    create_regions()
    number = new_id_number()
    phone = new_phone_number()
    checked = check_form(DEFINITION, base(
        applicant="  李明 ", reason="", kind="补办", copies=2, moved_on="2026-01-31",
        id_number=number[:-1] + number[-1].lower(), phone=f"+86 {phone}", region="530102"))
    assert checked == {"applicant": "李明", "kind": "补办", "copies": 2,
                       "moved_on": "2026-01-31", "id_number": number, "phone": phone,
                       "region": "530102", "agree": True}


@pytest.mark.parametrize("missing", [{}, {"applicant": ""}, {"applicant": None},
                                     {"applicant": "   "}])
def test_a_required_field_left_empty_is_named(app_context, missing):
    filled = {"agree": True, **missing}
    assert field_error(filled) == ("form.applicant", ["请填写申请人"])


def test_a_required_false_boolean_is_an_answer(app_context):
    assert check_form(DEFINITION, base(agree=False))["agree"] is False


def test_a_field_the_definition_lacks_is_refused(app_context):
    field, messages = field_error(base(nickname="x", zzz=1))
    assert field == "form" and messages == ["nickname", "zzz"]


def test_too_many_fields_are_refused(app_context):
    field, _ = field_error({f"f{n}": 1 for n in range(MAX_FIELDS + 1)})
    assert field == "form"


@pytest.mark.parametrize(("values", "field"), [
    ({"applicant": 42}, "form.applicant"),
    ({"applicant": "长" * 201}, "form.applicant"),
    ({"reason": "长" * 2001}, "form.reason"),
    ({"kind": "其他"}, "form.kind"),
    ({"kind": ["首次"]}, "form.kind"),
    ({"copies": "2"}, "form.copies"),
    ({"copies": True}, "form.copies"),
    ({"copies": -1}, "form.copies"),
    ({"copies": float("nan")}, "form.copies"),
    ({"moved_on": "2026-02-30"}, "form.moved_on"),
    ({"moved_on": 20260131}, "form.moved_on"),
    ({"id_number": "530102199001010000"}, "form.id_number"),   # a wrong check digit
    ({"id_number": "12345"}, "form.id_number"),
    ({"phone": "12345"}, "form.phone"),
    ({"region": "999999"}, "form.region"),
    ({"agree": "yes"}, "form.agree"),
])
def test_a_value_of_the_wrong_shape_names_its_field(app_context, values, field):
    create_regions()
    assert field_error(base(**values))[0] == field


def test_a_bad_id_number_says_what_is_wrong_without_echoing_it(app_context):
    bad = "530102199001010000"
    field, messages = field_error(base(id_number=bad))
    assert field == "form.id_number" and bad not in "".join(messages)


def test_no_definition_takes_an_empty_form_only(app_context):
    assert check_form(None, {}) == {}
    assert check_form({}, {}) == {}
    with pytest.raises(InvalidInput):
        check_form(None, {"x": 1})


def test_the_masked_form_hides_personal_numbers_and_keeps_the_definitions_order(app_context):
    number, phone = new_id_number(), new_phone_number()
    shown = masked_form(DEFINITION, {"phone": phone, "applicant": "李明", "id_number": number,
                                     "copies": 2})
    assert [f["name"] for f in shown] == ["applicant", "copies", "id_number", "phone"]
    values = {f["name"]: f["value"] for f in shown}
    assert values["applicant"] == "李明" and values["copies"] == 2
    assert values["id_number"].startswith(number[:6]) and "*" in values["id_number"]
    assert number not in values["id_number"] and phone not in values["phone"]
    assert values["phone"].endswith(phone[-4:])
    assert {f["label"] for f in shown} == {"申请人", "份数", "身份证号", "联系电话"}
