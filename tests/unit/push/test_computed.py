"""Computed tags: worked out from a person's own data, moved by the events that change it and
by a daily task that reads only the people a day concerns."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.certificates.issuing import revoke
from app.extensions import db
from app.models.tag import TagMembership
from app.platform.clock import today_in_china
from app.platform.orm import utcnow
from app.push import computed
from app.push.computed import age_band, industry_tag, people_changing_on
from app.push.index import audience_index
from app.push.preferences import set_preferences
from tests.factories import (
    bind_user,
    create_certificate_type,
    create_enterprise,
    create_item,
    create_theme,
    create_user,
    file_case,
    finish_case,
    issue_certificate,
)
from tests.personal_numbers import new_id_number


def carried(user_id: int) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(TagMembership.tag).where(
        TagMembership.user_id == user_id)))


def indexed(tag: str) -> set[int]:
    with audience_index().reading() as view:
        return set(view.bitmap(tag))


def test_profile_facts_become_tags(app_context):
    born = today_in_china().replace(year=today_in_china().year - 65) - timedelta(days=3)
    user = create_user(id_number=new_id_number(region_code="530102", birth_date=born))
    computed.refresh_users([user.id])
    tags = carried(user.id)
    assert {"user:registered", "user:real_name", "region:530102", "age:60+"} <= tags
    assert tags & {"gender:f", "gender:m"}
    assert user.id in indexed("age:60+") and user.id in indexed("user:registered")
    # Recomputing changes nothing: the log gets no new lines.
    assert computed.refresh_user(user.id) == 0


def test_an_unverified_user_is_only_registered(app_context):
    user = create_user(verified=False)
    computed.refresh_users([user.id])
    assert carried(user.id) == {"user:registered"}


def test_certificates_issued_expiring_and_revoked_move_tags(app_context):
    user = create_user()
    kind = create_certificate_type()
    certificate = issue_certificate(kind=kind, holder=user,
                                    expires_at=utcnow() + timedelta(days=10))
    # The issue event recomputed the holder's tags as it was handed over.
    assert {"cert:driving_licence", "cert:driving_licence:expiring_30d"} <= carried(user.id)
    membership = db.session.scalar(sa.select(TagMembership).where(
        TagMembership.tag == "cert:driving_licence"))
    assert membership.expires_at == certificate.expires_at  # it lapses with the certificate
    revoke(certificate, "测试吊销")
    db.session.commit()
    assert not {t for t in carried(user.id) if t.startswith("cert:")}
    assert user.id not in indexed("cert:driving_licence")


def test_cases_tag_their_applicant_with_the_latest_status(app_context):
    user = create_user()
    create_theme()
    item = create_item(materials=[])
    case = file_case(user=user, code=item.code)
    assert f"case:{item.code}:submitted" in carried(user.id)
    finish_case(case=case)
    db.session.commit()
    computed.refresh_users([user.id])
    tags = carried(user.id)
    assert f"case:{item.code}:approved" in tags and f"case:{item.code}:submitted" not in tags


def test_enterprise_bindings_tag_their_people_and_industry(app_context):
    rep = create_user()
    agent = create_user()
    company = create_enterprise(legal_rep=rep, industry="餐饮服务")
    bind_user(user=rep, enterprise=company)
    expires = utcnow() + timedelta(days=30)
    bind_user(user=agent, enterprise=company, relation="agent", scopes="cases",
              expires_at=expires)
    computed.refresh_users([rep.id, agent.id])
    assert {"user:enterprise", "user:legal_rep", "industry:canyinfuwu"} <= carried(rep.id)
    assert {"user:enterprise", "user:agent"} <= carried(agent.id)
    lapse = db.session.scalar(sa.select(TagMembership.expires_at).where(
        TagMembership.user_id == agent.id, TagMembership.tag == "user:agent"))
    assert lapse == expires


def test_muting_a_category_leaves_matching_audiences_at_once(app_context):
    user = create_user()
    computed.refresh_users([user.id])
    set_preferences(user, muted_categories=["pension"], quiet_hours=None, wechat_enabled=True)
    db.session.commit()
    assert user.id in indexed("optout:pension")
    set_preferences(user, muted_categories=[], quiet_hours=None, wechat_enabled=True)
    db.session.commit()
    assert user.id not in indexed("optout:pension")


def test_the_day_reads_only_who_crosses_an_edge_or_enters_an_expiry_window(app_context):
    today = date(2026, 11, 25)
    turning_60 = create_user(id_number=new_id_number(birth_date=date(1966, 11, 25)))
    turning_18 = create_user(id_number=new_id_number(birth_date=date(2008, 11, 25)))
    not_today = create_user(id_number=new_id_number(birth_date=date(1966, 11, 24)))
    forty = create_user(id_number=new_id_number(birth_date=date(1986, 11, 25)))
    changing = people_changing_on(today)
    assert {turning_60.id, turning_18.id} <= changing
    assert not_today.id not in changing and forty.id not in changing
    computed.refresh_day(today)
    assert "age:60+" in carried(turning_60.id) and "age:18-34" in carried(turning_18.id)


def test_leap_day_people_move_on_the_first_of_march_of_other_years(app_context):
    leapling = create_user(id_number=new_id_number(birth_date=date(2008, 2, 29)))
    assert leapling.id in people_changing_on(date(2026, 3, 1))      # 18, in a common year
    assert leapling.id not in people_changing_on(date(2026, 2, 28))
    senior = create_user(id_number=new_id_number(birth_date=date(1964, 2, 29)))
    assert senior.id in people_changing_on(date(2024, 2, 29))       # 60, in a leap year
    assert senior.id not in people_changing_on(date(2024, 3, 1))


def test_age_bands_and_industry_slugs():
    today = date(2026, 11, 25)
    assert age_band(date(2008, 11, 26), today) == "age:0-17"
    assert age_band(date(2008, 11, 25), today) == "age:18-34"
    assert age_band(date(1966, 11, 25), today) == "age:60+"
    assert industry_tag("道路运输") == "industry:daoluyunshu"
    assert industry_tag("  ") is None
