"""The inbox: a person's messages are the live runs whose bitmap holds them, with why each
reached them; what they do is written once; stopped runs and muted categories disappear."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.push import PushMessageState, PushRun
from app.models.tag import TagDefinition
from app.platform.errors import NotFound
from app.platform.orm import utcnow
from app.push import computed, inbox, memberships
from app.push.inbox import (
    dismiss,
    live_runs,
    mark_clicked,
    mark_read,
    message,
    messages_for,
    unread_count,
)
from app.push.preferences import set_preferences
from app.push.why import Names, clause_for, region_name, sentence
from tests.factories import create_certificate_type, create_regions, create_user
from tests.inbox_factories import create_rule, create_run
from tests.personal_numbers import new_id_number

DIGITS_OF_PERSONAL_NUMBERS = r"[0-9]{11}"


@pytest.fixture
def person(app_context):
    """Someone in 五华区 whose driving licence expires soon, with a sensitive tag too."""
    create_regions()
    create_certificate_type()
    user = create_user(name="李娜", id_number=new_id_number(region_code="530102"))
    computed.refresh_users([user.id])
    db.session.add(TagDefinition(name="health:chronic", kind="manual", sensitive=True))
    for tag in ("cert:driving_licence", "cert:driving_licence:expiring_30d", "health:chronic"):
        memberships.grant(user.id, tag, source="manual")
    db.session.commit()
    return user


@pytest.fixture
def stranger(app_context):
    return create_user(name="王芳")


@pytest.fixture
def rule(app_context):
    return create_rule(audience="region:5301 AND (cert:driving_licence:expiring_30d OR"
                                " health:chronic)", target_code="GF00001001")


def ids(page) -> list[str]:
    return [item["id"] for item in page.items]


def test_a_person_in_the_runs_bitmap_sees_its_message_and_another_does_not(person, stranger,
                                                                           rule):
    run = create_run(rule=rule, recipients=[person.id])
    page = messages_for(person)
    assert (ids(page), page.total) == ([str(run.id)], 1)
    item = page.items[0]
    assert (item["title"], item["category"], item["service_code"]) == (
        rule.title, "licence", "GF00001001")
    assert item["target"] == {"kind": "service", "code": "GF00001001"}
    assert item["created_at"] == run.started_at and item["read_at"] is None
    assert messages_for(stranger).total == 0 and unread_count(stranger) == 0
    with pytest.raises(NotFound):
        message(stranger, run.id)


def test_why_names_the_rule_and_the_persons_tags_in_a_sentence_without_sensitive_ones(
        person, rule):
    create_run(rule=rule, recipients=[person.id])
    why = messages_for(person).items[0]["why"]
    assert why["rule"] == "驾驶证到期提醒"
    assert why["tags"] == ["cert:driving_licence:expiring_30d", "region:530102"]
    assert why["text"] == "因为您在昆明市五华区，且机动车驾驶证将于30日内到期"
    assert "health" not in str(why)
    assert not re.search(DIGITS_OF_PERSONAL_NUMBERS, why["text"])


def test_a_rules_public_reason_is_the_sentence(person):
    rule = create_rule(audience="region:5301", reason="您所在地区开展驾驶证集中换证服务")
    create_run(rule=rule, recipients=[person.id])
    why = messages_for(person).items[0]["why"]
    assert (why["text"], why["tags"]) == ("您所在地区开展驾驶证集中换证服务", ["region:530102"])


def test_a_rule_for_everyone_names_no_tags(person):
    create_run(rule=create_rule(audience="*"), recipients=[person.id])
    why = messages_for(person).items[0]["why"]
    assert why["tags"] == [] and why["text"] == "您符合这条消息的推送条件"


def test_sentences_name_regions_ages_certificates_and_fall_back_to_the_tag():
    names = Names({"530000": "云南省", "530100": "昆明市", "530102": "五华区"},
                  {"driving_licence": "机动车驾驶证"}, {})
    assert region_name("530102", names.regions) == "昆明市五华区"
    assert region_name("530100", names.regions) == "昆明市"
    assert region_name("530000", names.regions) == "云南省"
    assert region_name("530103", names.regions) is None
    assert clause_for("age:60+", names) == "您的年龄在60岁及以上"
    assert clause_for("age:18-34", names) == "您的年龄在18至34岁"
    assert clause_for("age:0-17", names) == "您的年龄在17岁及以下"
    assert clause_for("cert:driving_licence", names) == "您持有机动车驾驶证"
    assert clause_for("region:530103", names) == "您符合「region:530103」"
    assert clause_for("life:newborn", names) == "您符合「life:newborn」"
    # Holding a certificate says less than its coming expiry; at most three clauses.
    assert sentence(["cert:driving_licence", "cert:driving_licence:expiring_30d", "age:60+",
                     "region:530102"], names) == (
        "因为您在昆明市五华区，且您的年龄在60岁及以上，且机动车驾驶证将于30日内到期")
    assert sentence([], names) == "您符合这条消息的推送条件"


def test_messages_come_newest_first_from_broad_and_single_person_runs(person, stranger, rule):
    now = utcnow()
    create_run(rule=rule, recipients=range(10**6, 10**6 + 99), started_at=now)
    broad = create_run(rule=rule, recipients=[person.id, *range(10**6, 10**6 + 40)],
                       started_at=now - timedelta(hours=2))
    single = create_run(rule=rule, recipients=[person.id], started_at=now - timedelta(hours=1))
    older = create_run(rule=rule, recipients=[person.id], started_at=now - timedelta(days=2))
    assert ids(messages_for(person)) == [str(single.id), str(broad.id), str(older.id)]


def test_read_and_click_are_written_once_and_keep_the_first_time(person, rule):
    run = create_run(rule=rule, recipients=[person.id])
    first = mark_read(person, run.id)["read_at"]
    assert first is not None and mark_read(person, run.id)["read_at"] == first
    clicked = mark_clicked(person, run.id)
    assert clicked["read_at"] == first and clicked["clicked_at"] is not None
    assert mark_clicked(person, run.id)["clicked_at"] == clicked["clicked_at"]
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PushMessageState)) == 1


def test_clicking_an_unread_message_reads_it(person, rule):
    run = create_run(rule=rule, recipients=[person.id])
    shown = mark_clicked(person, run.id)
    assert shown["read_at"] == shown["clicked_at"] is not None


def test_the_unread_filter_and_count_leave_out_read_ones(person, rule):
    first = create_run(rule=rule, recipients=[person.id])
    second = create_run(rule=rule, recipients=[person.id])
    assert unread_count(person) == 2
    mark_read(person, first.id)
    db.session.commit()
    assert unread_count(person) == 1
    assert ids(messages_for(person, unread_only=True)) == [str(second.id)]
    assert messages_for(person).total == 2


def test_a_dismissed_message_is_gone_and_dismissing_again_changes_nothing(person, rule):
    run = create_run(rule=rule, recipients=[person.id])
    dismiss(person, run.id)
    db.session.commit()
    when = db.session.scalar(sa.select(PushMessageState.dismissed_at))
    dismiss(person, run.id)
    db.session.commit()
    assert db.session.scalar(sa.select(PushMessageState.dismissed_at)) == when
    assert messages_for(person).total == 0 and unread_count(person) == 0
    with pytest.raises(NotFound):
        message(person, run.id)


def test_a_stopped_run_leaves_the_inbox_within_the_refresh(person, rule, monkeypatch):
    run = create_run(rule=rule, recipients=[person.id])
    now = [1000.0]
    monkeypatch.setattr(inbox._live, "clock", lambda: now[0])
    live_runs(refresh=True)
    db.session.execute(sa.update(PushRun).values(status="stopped", stopped_at=utcnow()))
    db.session.commit()
    assert messages_for(person).total == 1  # this process has not looked again yet
    now[0] += inbox.LIVE_RUNS_MAX_AGE_SECONDS
    assert messages_for(person).total == 0
    with pytest.raises(NotFound):
        mark_read(person, run.id)


def test_a_new_run_reaches_the_inbox_within_the_refresh(person, rule, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(inbox._live, "clock", lambda: now[0])
    assert messages_for(person).total == 0
    run = create_run(rule=rule, recipients=[person.id], commit=False)
    db.session.commit()
    assert messages_for(person).total == 0
    now[0] += inbox.LIVE_RUNS_MAX_AGE_SECONDS
    assert ids(messages_for(person)) == [str(run.id)]


def test_a_message_is_found_by_id_before_the_process_looks_again(person, rule):
    live_runs()
    run = create_run(rule=rule, recipients=[person.id], commit=False)
    db.session.commit()
    assert message(person, run.id)["id"] == str(run.id)


def test_runs_still_delivering_and_older_than_the_inbox_keeps_are_not_shown(app, person, rule):
    create_run(rule=rule, recipients=[person.id], status="delivering")
    create_run(rule=rule, recipients=[person.id],
               started_at=utcnow() - timedelta(days=app.config["INBOX_DAYS"], minutes=1))
    assert messages_for(person).total == 0


def test_muting_a_category_hides_its_messages_at_once(person, rule):
    other = create_rule(name="社保年审", audience="region:5301", category="pension")
    create_run(rule=rule, recipients=[person.id])
    kept = create_run(rule=other, recipients=[person.id])
    set_preferences(person, muted_categories=["licence"], quiet_hours=None,
                    wechat_enabled=True)
    db.session.commit()
    assert ids(messages_for(person)) == [str(kept.id)] and unread_count(person) == 1
    set_preferences(person, muted_categories=[], quiet_hours=None, wechat_enabled=True)
    db.session.commit()
    assert unread_count(person) == 2


def test_an_inbox_of_two_hundred_live_runs_still_answers(person, rule):
    now = utcnow()
    crowd = [person.id, *range(2**20, 2**20 + 5000)]
    made = [create_run(rule=rule, recipients=crowd if n % 2 else [person.id],
                       started_at=now - timedelta(minutes=n), commit=False)
            for n in range(200)]
    db.session.commit()
    inbox.forget_live_runs()
    assert len(live_runs().by_id) == 200
    page = messages_for(person, page=2, per_page=20)
    assert page.total == 200 and ids(page) == [str(run.id) for run in made[20:40]]
    assert unread_count(person) == 200
