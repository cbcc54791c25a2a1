"""Instant approval (秒批): which facts prove which conditions, and the result certificate."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.cases.instant import check_rule, decide, issue_result
from app.certificates.holdings import field_values
from app.platform.errors import InvalidInput
from tests.factories import create_certificate_type, create_user, issue_certificate
from tests.personal_numbers import new_id_number

# 16:00 UTC on the 25th is midnight starting the 26th in China.
BEFORE_BIRTHDAY = datetime(2026, 11, 25, 15, 59, tzinfo=UTC)
ON_BIRTHDAY = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
SENIOR_FIELDS = [
    {"name": "name", "label": "姓名", "sensitive": False, "display": True},
    {"name": "number", "label": "证号", "sensitive": True, "display": False},
    {"name": "birth_date", "label": "出生日期", "sensitive": True, "display": False},
    {"name": "issue_date", "label": "发证日期", "sensitive": False, "display": True},
    {"name": "valid_until", "label": "有效期至", "sensitive": False, "display": True},
]


def person(birth: date = date(1966, 11, 26), region: str = "530102", name: str = "李明"):
    return create_user(name=name, id_number=new_id_number(region_code=region, birth_date=birth))


def rule(*conditions: dict, result: str | None = None) -> dict:
    return {"conditions": list(conditions), "result_certificate_type": result}


AGE_60 = {"kind": "age", "min": 60}


def test_the_age_is_reached_on_the_china_birthday(app_context):
    user = person(birth=date(1966, 11, 26))
    assert not decide(rule(AGE_60), user, None, [], BEFORE_BIRTHDAY).approved
    decision = decide(rule(AGE_60), user, None, [], ON_BIRTHDAY)
    assert decision.approved and decision.reasons == ["年满60周岁：已核验"]


def test_a_person_without_a_birth_date_does_not_prove_an_age(app_context):
    user = create_user(verified=False)
    decision = decide(rule(AGE_60), user, None, [], ON_BIRTHDAY)
    assert not decision.approved and decision.reasons == ["年满60周岁：未能核验"]


@pytest.mark.parametrize(("within", "proven"), [
    ("53", True), ("5301", True), ("530102", True), ("530103", False), ("44", False),
])
def test_the_region_is_a_prefix_of_where_the_id_was_issued(app_context, within, proven):
    user = person(region="530102")
    decision = decide(rule({"kind": "region", "within": within, "label": "云南户籍"}), user,
                      None, [], ON_BIRTHDAY)
    assert decision.approved is proven
    assert decision.reasons == [f"云南户籍：{'已核验' if proven else '未能核验'}"]


def licence(user, licence_class: str, expires_at: datetime | None = None):
    return issue_certificate(kind=create_certificate_type(), holder=user, expires_at=expires_at,
                             fields={"name": "李明", "licence_class": licence_class})


CLASS_A2_B2 = {"kind": "certificate", "type": "driving_licence", "field": "licence_class",
               "any_of": ["A2", "B2"]}


@pytest.mark.parametrize(("held_class", "proven"), [
    ("B2", True), ("A2", True), ("A1A2", True), ("C1", False), ("C1E", False),
])
def test_a_certificate_class_is_one_of_the_listed_codes(app_context, held_class, proven):
    user = person()
    held = [licence(user, held_class)]
    decision = decide(rule(CLASS_A2_B2), user, None, held, ON_BIRTHDAY)
    assert decision.approved is proven
    assert (decision.proofs.get("driving_licence") is held[0]) is proven


def test_any_certificate_of_the_type_proves_a_condition_without_classes(app_context):
    user = person()
    held = [licence(user, "C1")]
    condition = {"kind": "certificate", "type": "driving_licence"}
    assert decide(rule(condition), user, None, held, ON_BIRTHDAY).approved
    assert not decide(rule(condition), user, None, [], ON_BIRTHDAY).approved


def test_an_expired_or_revoked_certificate_proves_nothing(app_context):
    from app.certificates.issuing import revoke

    user = person()
    expired = licence(user, "B2", expires_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert not decide(rule(CLASS_A2_B2), user, None, [expired], ON_BIRTHDAY).approved
    # The same certificate did prove it while it was valid.
    assert decide(rule(CLASS_A2_B2), user, None, [expired],
                  datetime(2026, 5, 1, tzinfo=UTC)).approved
    revoked = revoke(licence(user, "B2"), "测试吊销")
    assert not decide(rule(CLASS_A2_B2), user, None, [revoked], ON_BIRTHDAY).approved


def test_every_condition_must_be_proven_and_each_says_so(app_context):
    user = person(birth=date(1990, 1, 1))
    decision = decide(rule(AGE_60, {"kind": "region", "within": "53"}), user, None, [],
                      ON_BIRTHDAY)
    assert not decision.approved
    assert decision.reasons == ["年满60周岁：未能核验", "户籍地在53：已核验"]
    assert decision.note == "年满60周岁：未能核验；户籍地在53：已核验"


def test_the_result_certificate_carries_the_holders_name_and_china_dates(app_context):
    kind = create_certificate_type(code="senior_card", name="老年人优待证",
                                   fields=SENIOR_FIELDS)
    user = person(name="王秀英")
    decision = decide(rule(AGE_60, result="senior_card"), user, None, [], ON_BIRTHDAY)
    certificate = issue_result(rule(AGE_60, result="senior_card"), decision, user, None,
                               ON_BIRTHDAY)
    assert certificate.type is kind and certificate.holder_id_index == user.id_number_index
    values = field_values(certificate)
    assert values["name"] == "王秀英"
    assert values["birth_date"] == "1966-11-26"
    # Issued at 00:00 on the 26th China time: both dates are China dates.
    assert values["issue_date"] == "2026-11-26"
    assert values["valid_until"] == "2032-11-26"
    assert certificate.expires_at.year == 2032
    assert certificate.status_at(ON_BIRTHDAY) == "valid"
    assert "gender" not in values   # only the type's own fields


def test_a_result_issued_on_the_29th_of_february_expires_on_a_real_day(app_context):
    create_certificate_type(code="senior_card", name="老年人优待证", fields=SENIOR_FIELDS)
    user = person(birth=date(1950, 3, 1))
    leap = datetime(2028, 2, 29, 2, 0, tzinfo=UTC)
    decision = decide(rule(AGE_60, result="senior_card"), user, None, [], leap)
    certificate = issue_result(rule(AGE_60, result="senior_card"), decision, user, None, leap)
    assert certificate.expires_at.date() in (date(2034, 2, 28), date(2034, 3, 1))


def test_no_result_type_issues_nothing(app_context):
    user = person()
    decision = decide(rule(AGE_60), user, None, [], ON_BIRTHDAY)
    assert issue_result(rule(AGE_60), decision, user, None, ON_BIRTHDAY) is None


def test_a_valid_rule_is_returned_as_given(app_context):
    create_certificate_type()
    create_certificate_type(code="senior_card", name="老年人优待证", fields=SENIOR_FIELDS)
    given = rule(AGE_60, {"kind": "region", "within": "53"}, CLASS_A2_B2, result="senior_card")
    assert check_rule(given) == given
    assert check_rule(None) is None


@pytest.mark.parametrize(("given", "field"), [
    ("approve", "instant_approval"),
    ({"conditions": "age"}, "instant_approval"),
    ({"conditions": []}, "instant_approval.conditions"),
    ({"conditions": [AGE_60] * 11}, "instant_approval.conditions"),
    (rule({"kind": "mood"}), "instant_approval.conditions.0"),
    (rule("age"), "instant_approval.conditions.0"),
    (rule(AGE_60, {"kind": "age"}), "instant_approval.conditions.1"),
    (rule({"kind": "age", "min": "60"}), "instant_approval.conditions.0"),
    (rule({"kind": "age", "min": True}), "instant_approval.conditions.0"),
    (rule({"kind": "region", "within": "yunnan"}), "instant_approval.conditions.0"),
    (rule({"kind": "region"}), "instant_approval.conditions.0"),
    (rule({"kind": "certificate", "type": "no_such_type"}), "instant_approval.conditions.0"),
    (rule({"kind": "certificate", "type": "driving_licence", "any_of": ["B2"]}),
     "instant_approval.conditions.0"),                                   # any_of of which field?
    (rule({"kind": "certificate", "type": "driving_licence", "field": "licence_class",
           "any_of": "B2"}), "instant_approval.conditions.0"),           # a list, not a string
    (rule(AGE_60, result="no_such_type"), "instant_approval.result_certificate_type"),
])
def test_a_broken_rule_names_what_is_wrong(app_context, given, field):
    create_certificate_type()
    with pytest.raises(InvalidInput) as caught:
        check_rule(given)
    assert list(caught.value.errors) == [field]
