"""好差评 in the domain: who may rate what and when, the rectification a bad rating opens and its
due time in working days, the follow-up's state machine, the appeal, and the period of the stats."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.cases import ratings
from app.cases.lifecycle import end_of_china_day
from app.cases.rating_stats import period
from app.cases.ratings import appeal, checked_tags, rate, rectification_due
from app.cases.rectifications import follow_up
from app.extensions import db
from app.models.case import CaseRating, Rectification
from app.models.event import DomainEvent
from app.platform.clock import CHINA_TZ
from app.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.factories import (
    create_admin,
    create_item,
    create_theme,
    create_user,
    file_case,
    finish_case,
)

# A Wednesday before National Day 2026 (10-01 … 10-07 off), whose week-end is followed by a
# make-up working Saturday (10-10): five working days are 10-08, 10-09, 10-10, 10-12, 10-13.
EVE_OF_NATIONAL_DAY = datetime(2026, 9, 30, 10, 0, tzinfo=CHINA_TZ)


@pytest.fixture
def item(app_context):
    create_theme()
    return create_item(name="图书馆读者证办理", materials=[])


@pytest.fixture
def citizen(app_context, wechat_stub):
    user = create_user(name="李明")
    wechat_stub.state.mint_code(user.openid)  # WeChat knows the user: it checks their text
    return user


@pytest.fixture
def finished(citizen, item):
    return finish_case(case=file_case(user=citizen, code=item.code))


def test_a_good_rating_is_kept_with_its_tags_and_opens_nothing(citizen, finished):
    rating, rectification = rate(citizen, finished.case_no, 5, ["办事效率高", "一次办成"],
                                 "工作人员很耐心")
    db.session.commit()
    assert (rating.score, rating.tags, rating.comment) == (5, ["办事效率高", "一次办成"],
                                                           "工作人员很耐心")
    assert rectification is None and db.session.scalar(sa.select(Rectification)) is None
    event = db.session.scalar(sa.select(DomainEvent).where(DomainEvent.name == "case.rated"))
    assert event.payload["case_id"] == finished.id and event.payload["score"] == 5


def test_a_bad_rating_opens_a_rectification_due_after_the_holiday_and_the_weekend(
        citizen, finished):
    _, rectification = rate(citizen, finished.case_no, 2, ["办理时间长"],
                            now=EVE_OF_NATIONAL_DAY)
    db.session.commit()
    assert rectification.status == "open" and rectification.department == finished.department
    # Not 10-07 (five calendar days of holiday) nor 10-12 (weekends only): the make-up
    # Saturday counts, the Sunday after it does not.
    assert rectification.due_at == end_of_china_day(date(2026, 10, 13))


def test_the_working_days_to_answer_come_from_the_configuration(app, app_context):
    app.config["RECTIFICATION_WORKING_DAYS"] = 1
    try:
        assert rectification_due(EVE_OF_NATIONAL_DAY) == end_of_china_day(date(2026, 10, 8))
    finally:
        app.config["RECTIFICATION_WORKING_DAYS"] = 5


def test_a_case_is_rated_once(citizen, finished):
    rate(citizen, finished.case_no, 4)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        rate(citizen, finished.case_no, 5)
    assert refused.value.error == "already_rated"


def test_a_rating_racing_past_the_check_loses_on_the_unique_case(citizen, finished,
                                                                monkeypatch):
    rate(citizen, finished.case_no, 4)
    db.session.commit()
    # As if another request had rated it between this one's check and its insert.
    monkeypatch.setattr(ratings, "rating_of", lambda case: None)
    with pytest.raises(Conflict) as refused:
        rate(citizen, finished.case_no, 1)
    assert refused.value.error == "already_rated"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(CaseRating.id))) == 1
    assert db.session.scalar(sa.select(Rectification)) is None


def test_an_open_or_withdrawn_case_cannot_be_rated(citizen, item):
    from app.cases.progress import withdraw

    open_case = file_case(user=citizen, code=item.code)
    withdrawn = withdraw(citizen, file_case(user=citizen, code=item.code).case_no)
    db.session.commit()
    for case in (open_case, withdrawn):
        with pytest.raises(Conflict) as refused:
            rate(citizen, case.case_no, 5)
        assert refused.value.error == "case_not_finished"


def test_a_stranger_is_told_the_case_does_not_exist(finished, app_context):
    with pytest.raises(NotFound):
        rate(create_user(name="王芳"), finished.case_no, 5)


@pytest.mark.parametrize(("score", "tags"), [
    (5, ["办理时间长"]),             # a complaint on a good rating
    (1, ["服务态度好"]),             # praise on a bad one
    (3, ["随便写的标签"]),
    (5, ["办事效率高", "服务态度好", "一次办成", "材料简便", "流程清晰", "网上办理便捷"]),
])
def test_tags_must_be_standard_tags_of_the_score_and_at_most_five(score, tags):
    with pytest.raises(InvalidInput) as refused:
        checked_tags(score, tags)
    assert refused.value.field == "tags"


def test_a_middling_score_takes_either_list_and_repeats_count_once():
    assert checked_tags(3, ["办事效率高", "多次跑腿", "办事效率高"]) == ["办事效率高", "多次跑腿"]


@pytest.mark.parametrize("comment", ["这里有违规词", "办完了，待复核一下"])
def test_a_comment_wechat_does_not_pass_is_refused_and_nothing_is_kept(citizen, finished,
                                                                      comment):
    with pytest.raises(InvalidInput) as refused:
        rate(citizen, finished.case_no, 1, [], comment)
    assert (refused.value.field, refused.value.error) == ("comment", "comment_refused")
    assert db.session.scalar(sa.select(CaseRating)) is None


def test_follow_up_runs_assign_reply_close_and_refuses_other_moves(citizen, finished):
    admin = create_admin(username="curator", roles=("catalog_admin",))
    _, rectification = rate(citizen, finished.case_no, 1)
    db.session.commit()
    with pytest.raises(Conflict) as early:
        follow_up(rectification.id, "close", admin)
    assert early.value.errors == {"status": ["open -> closed"]}
    follow_up(rectification.id, "assign", admin, assignee="窗口科")
    follow_up(rectification.id, "reply", admin, reply="已约谈窗口人员并整改")
    with pytest.raises(Conflict) as late:
        follow_up(rectification.id, "assign", admin, assignee="办公室")
    assert late.value.errors == {"status": ["replied -> assigned"]}
    closed, before = follow_up(rectification.id, "close", admin)
    assert (before, closed.status, closed.assignee) == ("replied", "closed", "窗口科")
    assert closed.assigned_by_admin_id == admin.id and closed.closed_at is not None


def test_the_rater_appeals_an_answer_once_and_the_due_time_starts_again(citizen, finished):
    admin = create_admin(username="curator", roles=("catalog_admin",))
    _, rectification = rate(citizen, finished.case_no, 2, now=EVE_OF_NATIONAL_DAY)
    db.session.commit()
    with pytest.raises(Conflict) as unanswered:
        appeal(citizen, finished.case_no, "还没答复")
    assert unanswered.value.error == "appeal_not_allowed"
    follow_up(rectification.id, "reply", admin, reply="已整改")
    reopened = appeal(citizen, finished.case_no, "问题没有解决",
                      now=EVE_OF_NATIONAL_DAY + timedelta(days=14))
    assert (reopened.status, reopened.appeal) == ("open", "问题没有解决")
    assert reopened.due_at == end_of_china_day(date(2026, 10, 21))
    follow_up(rectification.id, "reply", admin, reply="再次整改")
    with pytest.raises(Conflict) as again:
        appeal(citizen, finished.case_no, "还是不满意")
    assert again.value.error == "already_appealed"


def test_only_the_rater_may_appeal(citizen, item, app_context):
    from tests.factories import bind_user, create_enterprise

    company = create_enterprise(legal_rep=citizen)
    bind_user(user=citizen, enterprise=company)
    agent = create_user(name="王芳")
    bind_user(user=agent, enterprise=company, relation="agent", scopes="cases")
    either = create_item(name="户外广告设置许可", audience="both", materials=[])
    case = finish_case(case=file_case(user=citizen, code=either.code, enterprise=company))
    admin = create_admin(username="curator", roles=("catalog_admin",))
    _, rectification = rate(citizen, case.case_no, 1)
    follow_up(rectification.id, "reply", admin, reply="已整改")
    with pytest.raises(Forbidden):
        appeal(agent, case.case_no, "不满意")


def test_the_stats_period_defaults_to_the_last_30_days_and_spans_at_most_366():
    now = datetime(2026, 11, 25, 9, 0, tzinfo=CHINA_TZ)
    assert period(None, None, now) == (date(2026, 10, 27), date(2026, 11, 25))
    leap_year = (date(2024, 1, 1), date(2024, 12, 31))
    assert period(*leap_year, now) == leap_year
    assert period(None, date(2026, 1, 30), now) == (date(2026, 1, 1), date(2026, 1, 30))
    with pytest.raises(InvalidInput) as too_long:
        period(date(2025, 1, 1), date(2026, 1, 2), now)
    assert too_long.value.field == "since"
    with pytest.raises(InvalidInput) as backwards:
        period(date(2026, 2, 1), date(2026, 1, 1), now)
    assert backwards.value.field == "until"
