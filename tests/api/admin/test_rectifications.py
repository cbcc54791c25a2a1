"""好差评 for admins: following rectifications up (audit-logged, by the state machine) and the
statistics by service, department and region, checked on a small known set of cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.cases.progress import withdraw
from app.cases.ratings import rate
from app.extensions import db
from app.models import AuditEntry
from app.models.case import Case, Rectification
from app.platform.clock import today_in_china
from app.platform.orm import utcnow
from tests.factories import (
    auth_headers,
    create_admin,
    create_item,
    create_theme,
    create_user,
    file_case,
    finish_case,
)


@pytest.fixture
def item(app_context):
    create_theme()
    return create_item(name="图书馆读者证办理", materials=[])


@pytest.fixture
def citizen(app_context):
    return create_user(name="欧阳明")


@pytest.fixture
def curator(app_context):
    return create_admin(username="curator", roles=("catalog_admin",))


@pytest.fixture
def admin(curator):
    return auth_headers(curator)


def bad_rating(citizen, code: str, score: int = 1) -> int:
    """A finished case of the citizen's rated `score`: the id of its rectification."""
    case = finish_case(case=file_case(user=citizen, code=code))
    _, rectification = rate(citizen, case.case_no, score, ["办理时间长"])
    db.session.commit()
    return rectification.id


def act(client, headers, rectification_id: int, **body):
    return client.patch(f"/api/v1/admin/rectifications/{rectification_id}", headers=headers,
                        json=body)


def test_admin_assigns_replies_and_closes_and_every_step_is_audited(client, admin, citizen,
                                                                    item):
    rectification_id = bad_rating(citizen, item.code)
    assigned = act(client, admin, rectification_id, action="assign", assignee="窗口科")
    assert assigned.status_code == 200, assigned.get_json()
    assert assigned.get_json()["status"] == "assigned"
    replied = act(client, admin, rectification_id, action="reply", reply="已约谈窗口人员")
    assert replied.get_json()["status"] == "replied"
    closed = act(client, admin, rectification_id, action="close").get_json()
    assert (closed["status"], closed["assignee"], closed["reply"]) == ("closed", "窗口科",
                                                                      "已约谈窗口人员")
    assert closed["closed_at"] and closed["replied_at"] and closed["overdue"] is False
    entries = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.target_type == "rectification").order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["rectification.assigned", "rectification.replied",
                                           "rectification.closed"]
    assert {e.actor_name for e in entries} == {"curator"}
    assert {e.target_id for e in entries} == {str(rectification_id)}
    assert entries[0].details["assignee"] == "窗口科"
    assert [(e.details["from"], e.details["to"]) for e in entries] == [
        ("open", "assigned"), ("assigned", "replied"), ("replied", "closed")]


@pytest.mark.parametrize("steps,action,transition", [
    ([], {"action": "close"}, "open -> closed"),
    ([{"action": "reply", "reply": "已整改"}], {"action": "assign", "assignee": "办公室"},
     "replied -> assigned"),
    ([{"action": "reply", "reply": "已整改"}, {"action": "close"}],
     {"action": "reply", "reply": "再答复"}, "closed -> replied"),
])
def test_an_illegal_step_is_409_naming_the_transition(client, admin, citizen, item, steps,
                                                      action, transition):
    rectification_id = bad_rating(citizen, item.code)
    for step in steps:
        assert act(client, admin, rectification_id, **step).status_code == 200
    response = act(client, admin, rectification_id, **action)
    assert response.status_code == 409
    assert response.get_json()["error"] == "illegal_transition"
    assert response.get_json()["errors"] == {"status": [transition]}


@pytest.mark.parametrize("body,field", [
    ({"action": "assign"}, "assignee"),
    ({"action": "reply"}, "reply"),
    ({"action": "reply", "reply": "   "}, "reply"),
    ({"action": "close", "reply": "顺便答复"}, "reply"),
    ({"action": "reopen"}, "action"),
])
def test_an_action_without_what_it_takes_is_422_naming_the_field(client, admin, citizen,
                                                                 item, body, field):
    rectification_id = bad_rating(citizen, item.code)
    response = act(client, admin, rectification_id, **body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.target_type == "rectification")) is None


def test_the_list_shows_the_oldest_due_first_with_the_rater_masked(client, admin, citizen,
                                                                   item):
    later, earlier = bad_rating(citizen, item.code), bad_rating(citizen, item.code, 2)
    db.session.get(Rectification, earlier).due_at = utcnow() - timedelta(days=1)
    db.session.commit()
    response = client.get("/api/v1/admin/rectifications", headers=admin)
    body = response.get_json()
    assert response.status_code == 200 and body["total"] == 2
    assert [r["id"] for r in body["items"]] == [str(earlier), str(later)]
    first = body["items"][0]
    assert first["overdue"] is True and first["rating"]["score"] == 2
    assert first["rating"]["rater_name_masked"] == "欧**"
    assert "欧阳明" not in response.get_data(as_text=True)
    overdue = client.get("/api/v1/admin/rectifications?overdue=true", headers=admin).get_json()
    assert [r["id"] for r in overdue["items"]] == [str(earlier)]
    act(client, admin, later, action="reply", reply="已整改")
    replied = client.get("/api/v1/admin/rectifications?status=replied&department=测试局",
                         headers=admin).get_json()
    assert [r["id"] for r in replied["items"]] == [str(later)]
    elsewhere = client.get("/api/v1/admin/rectifications?department=公安局", headers=admin)
    assert elsewhere.get_json()["total"] == 0
    one = client.get(f"/api/v1/admin/rectifications/{later}", headers=admin).get_json()
    assert one["status"] == "replied" and one["case_no"]


def test_auditors_read_but_do_not_act(client, citizen, item):
    rectification_id = bad_rating(citizen, item.code)
    auditor = auth_headers(create_admin(username="reader", roles=("auditor",)))
    assert client.get("/api/v1/admin/rectifications", headers=auditor).status_code == 200
    assert client.get("/api/v1/admin/ratings/stats", headers=auditor).status_code == 200
    response = act(client, auditor, rectification_id, action="reply", reply="已整改")
    assert response.status_code == 403


def test_no_such_rectification_is_404(client, admin):
    assert client.get("/api/v1/admin/rectifications/999999", headers=admin).status_code == 404
    assert act(client, admin, 999999, action="close").status_code == 404


# --- statistics ------------------------------------------------------------------------------


@pytest.fixture
def known_cases(app_context):
    """Seven item cases: six submitted now, one 40 days ago.

    | case | service | department | region | status               | channel | instant | rating |
    | c1   | A       | 人社局     | 530102 | approved in time     | online  | yes     | 5      |
    | c2   | A       | 人社局     | 530102 | approved late        | window  |         | 2      |
    | c3   | A       | 人社局     | 530302 | open, past due       | online  |         |        |
    | c4   | B       | 公安局     | 530302 | rejected in time     | online  |         | 4      |
    | c5   | B       | 公安局     | 530302 | open, within time    | online  |         |        |
    | c6   | B       | 公安局     | 530302 | withdrawn            | online  |         |        |
    | c7   | A       | 人社局     | 530102 | approved (too early) | online  |         | 1      |
    """
    create_theme()
    a = create_item(code="GF09001001", name="图书馆读者证办理", materials=[])
    b = create_item(code="GF09002001", name="居住证签注", materials=[])
    user = create_user(name="李明")
    now = utcnow()

    def case(item, department: str, region: str, **changes) -> Case:
        filed = file_case(user=user, code=item.code)
        filed.department, filed.region_code = department, region
        for name, value in changes.items():
            setattr(filed, name, value)
        db.session.commit()
        return filed

    c1 = finish_case(case=case(a, "人社局", "530102", instant=True))
    c2 = finish_case(case=case(a, "人社局", "530102", channel="window"))
    c2.due_at = c2.closed_at - timedelta(hours=1)
    case(a, "人社局", "530302", due_at=now - timedelta(hours=1))
    c4 = finish_case(case=case(b, "公安局", "530302"), status="rejected")
    case(b, "公安局", "530302")
    withdraw(user, case(b, "公安局", "530302").case_no)
    c7 = finish_case(case=case(a, "人社局", "530102"))
    for rated, score in ((c1, 5), (c2, 2), (c4, 4), (c7, 1)):
        rate(user, rated.case_no, score)
    c7.submitted_at = now - timedelta(days=40)
    db.session.commit()
    return {"A": a.code, "B": b.code}


@pytest.fixture
def stats(client, app_context):
    """GET the statistics as an auditor."""
    headers = auth_headers(create_admin(username="reader", roles=("auditor",)))

    def get(**query):
        return client.get("/api/v1/admin/ratings/stats", headers=headers, query_string=query)

    return get


ROW_A = {"cases": 3, "finished": 2, "rated": 2, "satisfaction": 0.5, "average_score": 3.5,
         "online_share": 0.6667, "instant_share": 0.3333, "overdue_rate": 0.6667}
ROW_B = {"cases": 3, "finished": 1, "rated": 1, "satisfaction": 1.0, "average_score": 4.0,
         "online_share": 1.0, "instant_share": 0.0, "overdue_rate": 0.0}
TOTALS = {"key": "total", "name": "合计", "cases": 6, "finished": 3, "rated": 3,
          "satisfaction": 0.6667, "average_score": 3.67, "online_share": 0.8333,
          "instant_share": 0.1667, "overdue_rate": 0.5}


def test_stats_by_service_count_the_period_s_item_cases(stats, known_cases):
    response = stats()
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["group_by"] == "service" and body["region"] is None
    assert body["rows"] == [
        {"key": known_cases["A"], "name": "图书馆读者证办理", **ROW_A},
        {"key": known_cases["B"], "name": "居住证签注", **ROW_B},
    ]
    assert body["totals"] == TOTALS


def test_stats_by_department_and_by_region_within_a_region(stats, known_cases):
    by_department = stats(group_by="department").get_json()
    assert by_department["rows"] == [{"key": "人社局", "name": "人社局", **ROW_A},
                                     {"key": "公安局", "name": "公安局", **ROW_B}]
    by_region = stats(group_by="region").get_json()
    assert [(r["key"], r["name"], r["cases"]) for r in by_region["rows"]] == [
        ("530302", "麒麟区", 4), ("530102", "五华区", 2)]
    qujing = stats(group_by="region", region="530300").get_json()
    assert qujing["totals"] == {
        "key": "total", "name": "合计", "cases": 4, "finished": 1, "rated": 1,
        "satisfaction": 1.0, "average_score": 4.0, "online_share": 1.0, "instant_share": 0.0,
        "overdue_rate": 0.5}


def test_a_period_reaching_back_counts_the_older_case(stats, known_cases):
    today = today_in_china()
    since = (today - timedelta(days=60)).isoformat()
    body = stats(since=since).get_json()
    assert body["since"] == since and body["totals"]["cases"] == 7
    assert body["totals"]["rated"] == 4 and body["totals"]["satisfaction"] == 0.5


def test_a_period_without_cases_has_no_rows_and_null_ratios(stats, known_cases):
    body = stats(since="2025-01-01", until="2025-01-31").get_json()
    assert body["rows"] == [] and body["totals"]["cases"] == 0
    assert body["totals"]["satisfaction"] is None and body["totals"]["overdue_rate"] is None


@pytest.mark.parametrize("query,field", [
    ({"since": "2025-01-01", "until": "2026-01-02"}, "since"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "until"),
    ({"group_by": "theme"}, "group_by"),
    ({"region": "999999"}, "region"),
])
def test_a_bad_period_or_grouping_is_422_naming_it(stats, query, field):
    response = stats(**query)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
