"""Computed tags: what a person's own data says about them, recomputed when that data changes.

A person's computed tags are worked out whole from their profile, bindings, certificates, cases
and push preferences, and compared with what they carry: only the difference is written (and
logged for the index). Recomputing is idempotent, so an event handled twice costs a few reads.

What changes without anyone acting (an age band's edge, a certificate entering its expiry
window) is moved by a daily task that reads only the people it concerns that day, through the
birth-date and expiry indexes.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from pypinyin import lazy_pinyin

from app.extensions import db
from app.identity.enterprises import is_active
from app.models import Certificate, EnterpriseBinding, User
from app.models.case import Case
from app.models.tag import PushPreference, TagMembership
from app.platform.clock import CHINA_TZ, age_on, today_in_china
from app.platform.events import Event, subscribe
from app.platform.orm import utcnow
from app.push import memberships
from app.push.index import UNIVERSE_TAG

AGE_BANDS = ((0, 17, "age:0-17"), (18, 34, "age:18-34"), (35, 59, "age:35-59"),
             (60, 200, "age:60+"))
BAND_EDGES = (18, 35, 60)  # the birthdays on which a person moves to another band
EXPIRY_WINDOW_DAYS = 30
CASES_READ = 200  # the newest cases of a person that tags are computed from
_SEGMENT_UNSAFE = re.compile(r"[^A-Za-z0-9_+.\-]+")


def age_band(birth_date: date, today: date) -> str:
    age = age_on(birth_date, today)
    return next(tag for low, high, tag in AGE_BANDS if low <= age <= high)


def industry_tag(industry: str) -> str | None:
    """`industry:<pinyin>` for an enterprise's industry as the registry writes it (餐饮服务 →
    industry:canyinfuwu), or None when nothing usable is left."""
    slug = _SEGMENT_UNSAFE.sub("_", "".join(lazy_pinyin(industry.strip()))).strip("_").lower()
    return f"industry:{slug[:48]}" if slug else None


def computed_for(user: User, today: date | None = None) -> dict[str, datetime | None]:
    """Every computed tag the person should carry now, with when it lapses by itself."""
    today = today or today_in_china()
    tags: dict[str, datetime | None] = {UNIVERSE_TAG: None}
    if user.real_name_verified_at is not None:
        tags["user:real_name"] = None
    if user.region_code:
        tags[f"region:{user.region_code}"] = None
    if user.gender in ("male", "female"):
        tags["gender:m" if user.gender == "male" else "gender:f"] = None
    if user.birth_date is not None:
        tags[age_band(user.birth_date, today)] = None
    tags.update(_binding_tags(user))
    tags.update(_certificate_tags(user))
    tags.update(_case_tags(user))
    preference = db.session.get(PushPreference, user.id)
    for category in (preference.muted_categories if preference else []):
        tags[f"optout:{category}"] = None
    return tags


def _binding_tags(user: User) -> dict[str, datetime | None]:
    tags: dict[str, datetime | None] = {}
    for binding in db.session.scalars(sa.select(EnterpriseBinding).where(
            EnterpriseBinding.user_id == user.id)):
        if not is_active(binding):
            continue
        lapses = binding.expires_at if binding.relation == "agent" else None
        relation = "user:legal_rep" if binding.relation == "legal_representative" else "user:agent"
        for tag in ("user:enterprise", relation, industry_tag(binding.enterprise.industry)):
            if tag is None:
                continue
            # Several bindings: the tag lasts as long as the longest of them.
            if tag in tags and (tags[tag] is None or (lapses and lapses < tags[tag])):
                continue
            tags[tag] = lapses
    return tags


def _certificate_tags(user: User) -> dict[str, datetime | None]:
    if not user.id_number_index:
        return {}
    now = utcnow()
    window = now + timedelta(days=EXPIRY_WINDOW_DAYS)
    tags: dict[str, datetime | None] = {}
    for certificate in db.session.scalars(sa.select(Certificate).where(
            Certificate.holder_id_index == user.id_number_index,
            Certificate.status == "valid",
            sa.or_(Certificate.expires_at.is_(None), Certificate.expires_at > now))):
        name = f"cert:{certificate.type.code}"
        tags[name] = _later(tags.get(name, now), certificate.expires_at)
        if certificate.expires_at is not None and certificate.expires_at <= window:
            tags[f"{name}:expiring_{EXPIRY_WINDOW_DAYS}d"] = certificate.expires_at
    return tags


def _later(held: datetime | None, other: datetime | None) -> datetime | None:
    if held is None or other is None:
        return None
    return max(held, other)


def _case_tags(user: User) -> dict[str, datetime | None]:
    newest: dict[str, str] = {}
    for code, status in db.session.execute(
            sa.select(Case.service_code, Case.status)
            .where(Case.applicant_user_id == user.id, Case.parent_id.is_(None))
            .order_by(Case.submitted_at.desc(), Case.id.desc()).limit(CASES_READ)):
        newest.setdefault(code, status)
    return {f"case:{code}:{status}": None for code, status in newest.items()}


def refresh_user(user_id: int, today: date | None = None) -> int:
    """Bring one person's computed tags up to date; the number of tags that changed."""
    user = db.session.get(User, user_id)
    if user is None:
        return 0
    wanted = computed_for(user, today)
    held = {m.tag: m for m in db.session.scalars(sa.select(TagMembership).where(
        TagMembership.user_id == user_id, TagMembership.source == "computed"))}
    changed = 0
    for tag, lapses in wanted.items():
        membership = held.get(tag)
        if membership is None or membership.expires_at != lapses:
            memberships.grant(user_id, tag, source="computed", expires_at=lapses)
            changed += 1
    for tag in held.keys() - wanted.keys():
        memberships.revoke(user_id, tag)
        changed += 1
    return changed


def refresh_users(user_ids: Iterable[int], today: date | None = None) -> int:
    changed = 0
    for user_id in dict.fromkeys(user_ids):
        changed += refresh_user(user_id, today)
    db.session.commit()
    return changed


# -- what the day changes ----------------------------------------------------------------------

def _years_before(day: date, years: int) -> list[date]:
    """Birth dates that reach `years` on `day` (29 February's people on 1 March, off leap years)."""
    try:
        born = [day.replace(year=day.year - years)]
    except ValueError:
        return []
    if day.month == 3 and day.day == 1 and calendar.isleap(day.year - years) \
            and not calendar.isleap(day.year):
        born.append(date(day.year - years, 2, 29))
    return born


def people_changing_on(day: date) -> set[int]:
    """Who crosses an age band's edge, or sees a certificate enter its expiry window, on `day`."""
    births = [born for edge in BAND_EDGES for born in _years_before(day, edge)]
    people = set(db.session.scalars(sa.select(User.id).where(User.birth_date.in_(births))))
    start = datetime.combine(day + timedelta(days=EXPIRY_WINDOW_DAYS), time(), tzinfo=CHINA_TZ)
    holders = set(db.session.scalars(sa.select(Certificate.holder_id_index).where(
        Certificate.expires_at >= start, Certificate.expires_at < start + timedelta(days=1),
        Certificate.status == "valid", Certificate.holder_id_index.is_not(None))))
    if holders:
        people.update(db.session.scalars(sa.select(User.id).where(
            User.id_number_index.in_(holders))))
    return people


def refresh_day(today: date | None = None, days_back: int = 1) -> int:
    """Move the tags that today (and, so that a missed run is made up, the day before) changes."""
    today = today or today_in_china()
    people: set[int] = set()
    for back in range(days_back + 1):
        people |= people_changing_on(today - timedelta(days=back))
    refresh_users(sorted(people), today)
    return len(people)


# -- the events that change a person's data ----------------------------------------------------

def _on_user(event: Event) -> None:
    refresh_users([event.payload["user_id"]])


def _on_case(event: Event) -> None:
    if event.payload.get("applicant_user_id"):
        refresh_users([event.payload["applicant_user_id"]])


def _on_certificate(event: Event) -> None:
    index = db.session.scalar(sa.select(Certificate.holder_id_index).where(
        Certificate.id == event.payload["certificate_id"]))
    if index:
        refresh_users(db.session.scalars(sa.select(User.id).where(
            User.id_number_index == index)))


def register_subscribers() -> None:
    for name in ("user.registered", "user.verified", "user.bindings_changed",
                 "user.preferences_changed"):
        subscribe(name, _on_user)
    for name in ("case.submitted", "case.moved", "case.finished"):
        subscribe(name, _on_case)
    for name in ("certificate.issued", "certificate.revoked"):
        subscribe(name, _on_certificate)

