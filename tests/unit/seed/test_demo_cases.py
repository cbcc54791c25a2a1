"""The demo cases: a few hundred, in every status, on timelines the state machine allows, with
overdue cases, instant approvals, counter applications, bundles and ratings; seeded once."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from app.api.admin.catalog import FormInSchema, InstantRuleInSchema
from app.cases.forms import FIELD_TYPES, check_form
from app.cases.lifecycle import _replay, china_day, is_overdue, timeline
from app.cases.tasks import mark_overdue_cases
from app.certificates.holdings import certificates_of
from app.extensions import db
from app.models import Bundle, ServiceItem, User
from app.models.case import CASE_STATUSES, Case, CaseRating, Rectification
from app.platform.orm import utcnow
from app.platform.working_days import working_calendar
from app.privacy.vault import vault
from app.seed import seed_demo
from app.seed.case_stories import DEMO_PHONES
from app.seed.identity import DEMO_PEOPLE, demo_id_number

SERVICES = Path(__file__).resolve().parents[3] / "app" / "seed" / "data" / "services.json"


def all_cases() -> list[Case]:
    return list(db.session.scalars(sa.select(Case).order_by(Case.id)))


def user(openid: str) -> User:
    return db.session.scalar(sa.select(User).where(User.openid == openid))


def test_demo_items_carry_well_formed_forms_and_instant_rules():
    items = {item["code"]: item for item in json.loads(SERVICES.read_text("utf-8"))["items"]}
    with_forms = [item for item in items.values() if "form" in item]
    assert len(with_forms) >= 10
    assert {item["audience"] for item in with_forms} >= {"personal", "enterprise"}
    for item in with_forms:
        fields = FormInSchema().load(item["form"])["fields"]
        assert len({f["name"] for f in fields}) == len(fields), item["code"]
        assert all(f["type"] in FIELD_TYPES for f in fields), item["code"]
        assert all(f.get("options") for f in fields if f["type"] == "select"), item["code"]
    rules = {code: item["instant_approval"] for code, item in items.items()
             if "instant_approval" in item}
    for rule in rules.values():
        InstantRuleInSchema().load(rule)
    assert {code: rule.get("result_certificate_type") for code, rule in rules.items()} == {
        "GF00132001": "senior_citizen_card", "XK00135001": "road_transport_qualification",
        "GF00142001": None}
    assert [c["kind"] for c in rules["GF00132001"]["conditions"]] == ["age", "region",
                                                                      "certificate"]
    assert rules["XK00135001"]["conditions"][0]["any_of"] == ["A1", "A2", "B1", "B2"]


def test_seeding_twice_files_the_demo_cases_once_and_prints_no_personal_data(runner,
                                                                           app_context):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    cases = len(all_cases())
    assert cases >= 200
    seeded = re.search(r"^cases: ([0-9]+) changed$", first.output, re.MULTILINE)
    assert seeded and int(seeded[1]) >= cases  # the cases, their ratings and rectifications
    second = runner.invoke(args=["seed-demo"])
    assert "cases: 0 changed" in second.output
    assert len(all_cases()) == cases
    for openid, _, name, *_ in DEMO_PEOPLE:
        for secret in (name, demo_id_number(openid), DEMO_PHONES[openid]):
            assert secret not in first.output + second.output


def test_demo_cases_reach_every_status_on_timelines_and_forms_the_rules_allow(app_context):
    seed_demo()
    now, calendar = utcnow(), working_calendar()
    cases = all_cases()
    items = [case for case in cases if case.kind == "item"]
    assert len(cases) >= 200
    assert set(Counter(case.status for case in items)) == set(CASE_STATUSES)
    for case in items:
        nodes = timeline(case)
        # The replay raises on a move the state machine refuses, and must end where the case is.
        status, closed_at, clock = _replay(case, nodes)
        assert (status, closed_at, clock.due_at, clock.paused_at) == (
            case.status, case.closed_at, case.due_at, case.paused_at), case.case_no
        assert (nodes[0].status, nodes[0].at) == ("submitted", case.submitted_at)
        assert now - timedelta(days=100) < case.submitted_at
        assert all(node.at <= now for node in nodes)
        assert all(calendar.is_working_day(china_day(node.at)) for node in nodes
                   if node.source == "department"), case.case_no
    # Forms and materials as the API accepts them: each form checks against its definition
    # (a bundle's members were filed with the bundle's one form), and an online application
    # has every required material from a certificate (免提交).
    definitions = {row.code: row for model in (ServiceItem, Bundle)
                   for row in db.session.scalars(sa.select(model))}
    bundle_of = {case.id: case.service_code for case in cases if case.kind == "bundle"}
    for case in cases:
        definition = definitions[bundle_of.get(case.parent_id) or case.service_code].form
        form = json.loads(vault().decrypt(case.form_enc, "case.form"))
        assert check_form(definition, form) == form, case.service_code
        if case.kind == "item" and case.channel == "online" and case.parent_id is None:
            required = {m.material_key for m in definitions[case.service_code].materials
                        if m.required}
            filed = {m.material_key for m in case.materials if m.certificate_id}
            assert required <= filed, case.service_code


def test_demo_has_overdue_instant_counter_bundle_and_rated_cases(app_context):
    seed_demo()
    now = utcnow()
    cases = all_cases()
    overdue = [case for case in cases if case.is_open and case.overdue_at is not None]
    assert overdue and all(is_overdue(case, now) for case in overdue)
    assert mark_overdue_cases(now) == 0  # the sweep finds every late case marked already

    agent, citizen = user("demo-agent-1"), user("demo-citizen-1")
    (instant,) = [case for case in cases if case.instant and case.service_code == "XK00135001"]
    assert instant.applicant_user_id == agent.id
    assert (instant.status, instant.closed_at) == ("approved", instant.submitted_at)
    issued = [c for c in certificates_of(agent) if c.type.code == "road_transport_qualification"
              and c.issued_at == instant.submitted_at]
    assert len(issued) == 1 and issued[0].status_at(now) == "valid"
    (refused,) = [case for case in cases if case.service_code == "XK00135001"
                  and case.applicant_user_id == citizen.id]
    assert not refused.instant and refused.status == "rejected"
    assert any(node.name == "秒批核验" and "未能核验" in node.note for node in refused.nodes)

    channels = Counter(case.channel for case in cases)
    assert 5 <= channels["window"] < channels["online"]
    bundles = {case.service_code: case for case in cases if case.kind == "bundle"}
    assert {"B001", "B002"} <= set(bundles)
    assert bundles["B001"].enterprise_id is not None and bundles["B002"].enterprise_id is None
    assert all(len(case.children) >= 3 for case in bundles.values())
    company_filers = {case.applicant_user_id for case in cases if case.enterprise_id}
    assert company_filers == {user("demo-legal-rep-1").id, agent.id}
    personal = {case.applicant_user_id for case in cases if case.enterprise_id is None}
    assert personal == {user(person[0]).id for person in DEMO_PEOPLE}

    ratings = list(db.session.scalars(sa.select(CaseRating)))
    assert sum(rating.score >= 4 for rating in ratings) >= 10
    bad = [rating for rating in ratings if rating.score <= 2]
    assert bad
    rectified = set(db.session.scalars(sa.select(Rectification.rating_id)))
    assert rectified == {rating.id for rating in bad}
    rated = {case.id: case for case in cases if case.id in {r.case_id for r in ratings}}
    assert all(rated[r.case_id].status in ("approved", "rejected")
               and r.created_at >= rated[r.case_id].closed_at for r in ratings)
