"""好差评 over HTTP: rating a finished case once, the rectification a bad rating opens, the
comment check, and the rater's one appeal."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.cases.lifecycle import end_of_china_day
from app.cases.rectifications import follow_up
from app.catalog.upkeep import commit_catalog_change, create_bundle
from app.extensions import db
from app.models.case import Case, CaseRating, Rectification
from app.models.event import DomainEvent
from app.platform.clock import today_in_china
from app.platform.working_days import working_calendar
from mini_program_stub.wechat_state import InjectedFailure
from tests.factories import (
    auth_headers,
    create_admin,
    create_item,
    create_theme,
    create_user,
    file_case,
    finish_case,
)

SEC_CHECK = "/wxa/msg_sec_check"


@pytest.fixture
def item(app_context):
    create_theme()
    return create_item(name="图书馆读者证办理", materials=[])


@pytest.fixture
def citizen(app_context, wechat_stub):
    user = create_user(name="李明")
    wechat_stub.state.mint_code(user.openid)  # a user WeChat knows, whose text it checks
    return user


@pytest.fixture
def headers(citizen):
    return auth_headers(citizen)


@pytest.fixture
def finished(citizen, item):
    return finish_case(case=file_case(user=citizen, code=item.code))


def rate(client, headers, case_no: str, **body):
    return client.post(f"/api/v1/cases/{case_no}/rating", headers=headers,
                       json={"score": 5, **body})


def test_a_citizen_rates_a_finished_case_with_tags_and_a_comment(client, headers, finished,
                                                                 wechat_stub, citizen):
    response = rate(client, headers, finished.case_no, score=5, tags=["办事效率高", "一次办成"],
                    comment="工作人员很耐心")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["score"] == 5 and body["score_label"] == "非常满意"
    assert body["tags"] == ["办事效率高", "一次办成"] and body["comment"] == "工作人员很耐心"
    assert body["rectification"] is None and body["created_at"].endswith("+08:00")
    case = client.get(f"/api/v1/cases/{finished.case_no}", headers=headers).get_json()
    assert case["rating"]["score"] == 5 and case["can_rate"] is False
    assert [c["content"] for c in wechat_stub.state.text_checks(citizen.openid)] == [
        "工作人员很耐心"]
    event = db.session.scalar(sa.select(DomainEvent).where(DomainEvent.name == "case.rated"))
    assert event.payload["case_id"] == finished.id and event.payload["score"] == 5


def test_a_bad_rating_opens_a_rectification_due_in_five_working_days(client, headers, finished):
    response = rate(client, headers, finished.case_no, score=2, tags=["办理时间长"])
    assert response.status_code == 201
    rectification = response.get_json()["rectification"]
    due = end_of_china_day(working_calendar().add_working_days(today_in_china(), 5))
    assert rectification["status"] == "open" and rectification["can_appeal"] is False
    assert rectification["due_at"] == due.isoformat()
    row = db.session.scalar(sa.select(Rectification))
    assert row.case_id == finished.id and row.department == "测试局"


def test_rating_twice_is_409_already_rated(client, headers, finished):
    assert rate(client, headers, finished.case_no).status_code == 201
    again = rate(client, headers, finished.case_no, score=1)
    assert again.status_code == 409 and again.get_json()["error"] == "already_rated"
    assert db.session.scalar(sa.select(CaseRating.score)) == 5


def test_an_open_case_is_409_case_not_finished(client, headers, citizen, item):
    case = file_case(user=citizen, code=item.code)
    response = rate(client, headers, case.case_no)
    assert response.status_code == 409 and response.get_json()["error"] == "case_not_finished"


def test_a_withdrawn_case_cannot_be_rated(client, headers, citizen, item):
    case = file_case(user=citizen, code=item.code)
    assert client.post(f"/api/v1/cases/{case.case_no}/withdraw", headers=headers,
                       json={}).status_code == 200
    response = rate(client, headers, case.case_no)
    assert response.status_code == 409 and response.get_json()["error"] == "case_not_finished"


def test_a_stranger_gets_404_as_for_no_case(client, finished):
    stranger = auth_headers(create_user(name="王芳"))
    mine = rate(client, stranger, finished.case_no)
    nobody = rate(client, stranger, "53202611259999999")
    assert mine.status_code == nobody.status_code == 404
    assert mine.get_json()["message"] == nobody.get_json()["message"]
    assert db.session.scalar(sa.select(CaseRating)) is None


def test_a_bundle_is_rated_through_its_member_cases(client, headers, citizen, item):
    other = create_item(name="社会保障卡申领", materials=[])
    create_bundle({"code": "B902", "name": "读者证一件事", "audience": "personal",
                   "items": [item.code, other.code]})
    commit_catalog_change()
    parent = file_case(user=citizen, code="B902")
    for member in list(parent.children):
        finish_case(case=member)
    assert db.session.get(Case, parent.id).status == "approved"
    refused = rate(client, headers, parent.case_no)
    assert refused.status_code == 409 and refused.get_json()["error"] == "bundle_parent"
    assert rate(client, headers, parent.children[0].case_no).status_code == 201


@pytest.mark.parametrize("comment,suggest", [("这里有违规词", "risky"), ("请待复核", "review")])
def test_a_comment_wechat_does_not_pass_is_422_comment_refused(client, headers, finished,
                                                               comment, suggest):
    response = rate(client, headers, finished.case_no, score=1, comment=comment)
    body = response.get_json()
    assert response.status_code == 422
    assert body["error"] == "comment_refused" and body["errors"] == {"comment": [suggest]}
    assert db.session.scalar(sa.select(CaseRating)) is None


def test_wechat_unable_to_check_the_comment_is_503_and_nothing_is_kept(client, headers,
                                                                      finished, wechat_stub):
    wechat_stub.state.add_failure(SEC_CHECK, InjectedFailure(-1), 10)
    response = rate(client, headers, finished.case_no, comment="很好")
    assert response.status_code == 503 and response.get_json()["error"] == "unavailable"
    assert db.session.scalar(sa.select(CaseRating)) is None


def test_a_rating_without_comment_does_not_ask_wechat(client, headers, finished, wechat_stub):
    assert rate(client, headers, finished.case_no, tags=["材料简便"]).status_code == 201
    assert wechat_stub.state.text_checks() == []


@pytest.mark.parametrize("body,field", [
    ({"score": 5, "tags": ["办理时间长"]}, "tags"),   # a complaint tag on a good score
    ({"score": 5, "tags": ["很好"]}, "tags"),
    ({"score": 6}, "score"),
    ({"score": "5"}, "score"),
    ({"score": 4, "comment": "好" * 501}, "comment"),
    ({"tags": ["办事效率高"]}, "score"),
])
def test_invalid_ratings_are_422_naming_the_field(client, headers, finished, body, field):
    response = client.post(f"/api/v1/cases/{finished.case_no}/rating", headers=headers,
                           json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_the_rater_reads_the_answer_and_appeals_it_once(client, headers, finished, citizen):
    rate(client, headers, finished.case_no, score=1, tags=["多次跑腿"])
    path = f"/api/v1/cases/{finished.case_no}/rating"
    early = client.post(f"{path}/appeal", headers=headers, json={"reason": "还没有答复"})
    assert early.status_code == 409 and early.get_json()["error"] == "appeal_not_allowed"
    admin = create_admin(username="curator", roles=("catalog_admin",))
    follow_up(db.session.scalar(sa.select(Rectification.id)), "reply", admin,
              reply="已约谈窗口人员")
    db.session.commit()
    answered = client.get(path, headers=headers).get_json()["rectification"]
    assert answered["reply"] == "已约谈窗口人员" and answered["can_appeal"] is True
    appealed = client.post(f"{path}/appeal", headers=headers, json={"reason": "问题没有解决"})
    assert appealed.status_code == 200, appealed.get_json()
    reopened = appealed.get_json()["rectification"]
    assert reopened["status"] == "open" and reopened["appeal"] == "问题没有解决"
    assert reopened["can_appeal"] is False
    again = client.post(f"{path}/appeal", headers=headers, json={"reason": "还是不满意"})
    assert again.status_code == 409 and again.get_json()["error"] == "already_appealed"


def test_a_good_rating_has_nothing_to_appeal(client, headers, finished):
    rate(client, headers, finished.case_no, score=5)
    response = client.post(f"/api/v1/cases/{finished.case_no}/rating/appeal", headers=headers,
                           json={"reason": "误评"})
    assert response.status_code == 409 and response.get_json()["error"] == "no_rectification"


def test_an_unrated_case_has_no_rating_to_read(client, headers, finished):
    response = client.get(f"/api/v1/cases/{finished.case_no}/rating", headers=headers)
    assert response.status_code == 404 and response.get_json()["error"] == "not_rated"
