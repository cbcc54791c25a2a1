"""Demo cases (办件): a few hundred applications of the demo people and the demo company over the
last 90 days, in every status, with bundles (一件事), counter applications, instant approvals
(秒批), overdue cases and ratings (好差评).

Cases are filed as submission files them and moved as departments move them, at the times those
moves would have had: `lifecycle.start` and `lifecycle.move` keep each timeline, due time and
status within the state machine, instant approval runs the item's rule, and a case left open past
its due time is marked overdue as the sweep would have marked it. An online application is of an
item whose required materials the applicant's e-certificates provide (免提交), as the API accepts
it; a counter application or a bundle records the certificates that stood in for materials, the
rest being paper at the counter (no uploaded files are seeded).

Seeded once: the cases carry idempotency keys of the seed's own, and when one exists nothing is
added. Choices come from a fixed seed, so each seeding tells the same story, dated back from the
day it runs.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.cases import submission
from app.cases.lifecycle import china_day, mark_overdue, move, start
from app.cases.numbers import new_query_code, next_case_no
from app.cases.progress import follow_parent
from app.cases.ratings import BAD_TAGS, GOOD_TAGS, open_rectification
from app.catalog.regions import placeable_region
from app.extensions import db
from app.models import Bundle, CatalogVersion, Enterprise, Region, ServiceItem, User
from app.models.case import OPEN_STATUSES, Case, CaseMaterial, CaseRating
from app.models.certificate import Certificate
from app.platform.orm import utcnow
from app.privacy.vault import vault
from app.seed.case_stories import (
    APPLICANT_WEIGHTS,
    BUNDLES,
    COMPANY,
    COMPANY_FILERS,
    LATE_SHARE,
    ONLINE_ITEMS,
    SPECIAL_CASES,
    STATUS_WEIGHTS,
    WINDOW_ITEMS,
    WINDOW_SHARE,
    BundleStory,
    FormContext,
    Special,
    Step,
    bundle_form,
    fill_form,
    steps_for,
    window_steps,
)
from app.seed.case_times import (
    filing_age,
    place_steps,
    ran_late,
    submission_moment,
)
from app.seed.fake_identifiers import fake_uscc
from app.seed.identity import DEMO_ENTERPRISES

SEED = 20261125
CASE_ROWS = 300  # bundles' parent and member cases included
KEY_PREFIX = "seed-demo-"
ATTEMPTS = 60
GOOD_RATINGS, BAD_RATINGS = 24, 3
GOOD_COMMENTS = ("全程网上办，一次都没跑。", "材料自动调取，很方便。", "比预想的快。", "")
BAD_COMMENTS = ("补正要求一次没有说清楚，来回改了两次。", "比承诺的时间晚了好几天才办完。")


@dataclass
class Seeding:
    rng: random.Random
    now: datetime
    users: dict[str, User]
    company: Enterprise
    items: dict[str, ServiceItem]
    centres: dict[str, str]  # region code → its service centre, where counter cases are filed
    version: int
    cases: list[Case] = field(default_factory=list)

    def add(self, case: Case) -> None:
        """A new top-level case, with the seed's idempotency key."""
        case.client_key = f"{KEY_PREFIX}{len(self.cases) + 1:04d}"
        db.session.add(case)
        db.session.flush()
        self.cases.append(case)


def seed_cases() -> int:
    """The demo cases and their ratings, unless seeded before; returns the rows added."""
    if db.session.scalar(sa.select(Case.id).where(Case.client_key.like(f"{KEY_PREFIX}%"))
                         .limit(1)):
        return 0
    seeding = _seeding()
    for special in SPECIAL_CASES:
        _special_case(seeding, special)
    for story in BUNDLES:
        _bundle_case(seeding, story)
    while _rows(seeding) < CASE_ROWS:
        _random_case(seeding)
    return _rows(seeding) + _rate(seeding)


def _rows(seeding: Seeding) -> int:
    return sum(1 + len(case.children) for case in seeding.cases)


def _seeding() -> Seeding:
    openids = [who for who in ONLINE_ITEMS if who != COMPANY]
    users = {u.openid: u for u in db.session.scalars(sa.select(User).where(
        User.openid.in_(openids)))}
    serial, _, region, *_ = DEMO_ENTERPRISES[0]
    company = db.session.scalar(sa.select(Enterprise).where(
        Enterprise.uscc == fake_uscc(region, serial)))
    regions = {company.region_code, *(u.region_code for u in users.values())}
    centres = {code: f"昆明市{name}政务服务中心" for code, name in db.session.execute(
        sa.select(Region.code, Region.name).where(Region.code.in_(regions)))}
    # Read from the table, not the cached version: the catalog may have moved in this seeding.
    version = db.session.scalar(sa.select(CatalogVersion.version).where(
        CatalogVersion.id == 1)) or 0
    items = {i.code: i for i in db.session.scalars(sa.select(ServiceItem))}
    return Seeding(random.Random(SEED), utcnow(), users, company, items, centres, version)


# ------------------------------------------------------------------ which cases


def _random_case(seeding: Seeding) -> None:
    rng = seeding.rng
    who = rng.choices(list(APPLICANT_WEIGHTS), list(APPLICANT_WEIGHTS.values()))[0]
    channel = "window" if rng.random() < WINDOW_SHARE else "online"
    code = rng.choice((WINDOW_ITEMS if channel == "window" else ONLINE_ITEMS)[who])
    status = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()))[0]
    if channel == "window" and status in ("submitted", "withdrawn"):
        status = "accepted"  # a window accepts what it is handed on the spot
    openid = rng.choice(COMPANY_FILERS) if who == COMPANY else who
    late = status in ("approved", "rejected") and rng.random() < LATE_SHARE
    _item_case(seeding, openid, code, who == COMPANY, channel, status, late=late)


def _special_case(seeding: Seeding, special: Special) -> None:
    _item_case(seeding, special.openid, special.code, special.for_company, "online",
               special.steps[-1].status if special.steps else "approved",
               days_ago=special.days_ago, steps=special.steps, late=special.overdue)


# ------------------------------------------------------------------ filing


def _item_case(seeding: Seeding, openid: str, code: str, for_company: bool, channel: str,
               status: str, *, days_ago: int | None = None, steps: tuple[Step, ...] | None = None,
               late: bool = False) -> None:
    item, user = seeding.items[code], seeding.users[openid]
    enterprise = seeding.company if for_company else None
    limit = submission.limit_days(item)
    instant = bool(item.instant_approval) and channel == "online"
    centre = seeding.centres[_region(user, enterprise)] if channel == "window" else None
    plan = _plan(seeding, status, limit, code, centre, days_ago=days_ago, steps=steps,
                 late=late, check_clock=not (instant and not steps))
    if plan is None and steps is None:
        # No fitting timeline for that status today (a 即办 item left open): a finished one.
        plan = _plan(seeding, "approved", limit, code, centre, check_clock=False)
    if plan is None:
        raise RuntimeError(f"demo case of {code} does not fit the calendar")
    submitted, chosen, moments = plan
    context = FormContext(openid, _region(user, enterprise), china_day(submitted))
    case = _new_case(seeding, "item", item.code, item.name, item.department, limit, user,
                     enterprise, channel, submitted, fill_form(seeding.rng, item.form, context))
    case.materials = _filed(item, user, enterprise, submitted, strict=channel == "online")
    seeding.add(case)
    if instant:
        held = _held(user, enterprise, submitted)
        submission.try_instant_approval(case, item, user, enterprise, held, submitted)
    _walk(seeding, case, chosen, moments)


def _bundle_case(seeding: Seeding, story: BundleStory) -> None:
    bundle = db.session.scalar(sa.select(Bundle).where(Bundle.code == story.code))
    user = seeding.users[story.openid]
    enterprise = seeding.company if story.for_company else None
    items = [member.item for member in bundle.members]
    day = china_day(seeding.now) - timedelta(days=story.days_ago)
    # Filed in the hours a 即办 member can still be done the same day.
    submitted = submission_moment(seeding.rng, day, "online", 0)
    form = bundle_form(story.code, FormContext(story.openid, _region(user, enterprise), day))
    parent = _new_case(seeding, "bundle", bundle.code, bundle.name, "",
                       max(submission.limit_days(i) for i in items), user, enterprise, "online",
                       submitted, form)
    for item in items:
        child = _new_case(seeding, "item", item.code, item.name, item.department,
                          submission.limit_days(item), user, enterprise, "online", submitted, form)
        child.materials = _filed(item, user, enterprise, submitted, strict=False)
        parent.children.append(child)
    seeding.add(parent)
    for child in parent.children:
        wanted = story.members.get(child.service_code, "approved")
        steps = wanted if isinstance(wanted, tuple) else None
        status = steps[-1].status if steps else str(wanted)
        # Too early in the day for a member to have got that far: it is a step behind.
        for fallback in (status, "accepted", "submitted"):
            plan = _plan(seeding, fallback, child.promised_limit_days, child.service_code,
                         None, submitted=submitted, steps=steps if fallback == status else None)
            if plan is not None:
                break
        else:
            plan = _plan(seeding, "submitted", child.promised_limit_days, child.service_code,
                         None, submitted=submitted, check_clock=False)
        _walk(seeding, child, *plan[1:])
    follow_parent(parent.children[0])


def _region(user: User, enterprise: Enterprise | None) -> str:
    return (enterprise.region_code if enterprise else None) or placeable_region(
        user.region_code) or ""


def _new_case(seeding: Seeding, kind: str, code: str, name: str, department: str, limit: int,
              user: User, enterprise: Enterprise | None, channel: str, submitted: datetime,
              form: dict) -> Case:
    region = _region(user, enterprise)
    case = Case(case_no=next_case_no(submission.province_of(region), submitted),
                query_code=new_query_code(), kind=kind, service_code=code, service_name=name,
                department=department, region_code=region, catalog_version=seeding.version,
                applicant_user_id=user.id, enterprise_id=enterprise.id if enterprise else None,
                form_enc=vault().encrypt(json.dumps(form, ensure_ascii=False), "case.form"),
                status="submitted", channel=channel, promised_limit_days=limit)
    start(case, submitted, note="在政务服务中心窗口申请" if channel == "window" else "")
    return case


def _held(user: User, enterprise: Enterprise | None, at: datetime) -> list[Certificate]:
    """The applicant's and the applying enterprise's certificates issued by `at`, oldest first."""
    holders = [Certificate.holder_id_index == user.id_number_index]
    if enterprise is not None:
        holders.append(Certificate.holder_enterprise_id == enterprise.id)
    return [c for c in db.session.scalars(sa.select(Certificate).where(sa.or_(*holders))
                                          .order_by(Certificate.id)) if c.issued_at <= at]


def _filed(item: ServiceItem, user: User, enterprise: Enterprise | None, at: datetime, *,
           strict: bool) -> list[CaseMaterial]:
    """The item's materials a certificate valid at `at` provides (免提交), the newest of its
    type; `strict`, every required material must be one, as an online filing needs. An optional
    material of a type a required one takes (an agent's ID card beside the applicant's) is
    left out."""
    valid = {c.type.code: c for c in _held(user, enterprise, at) if c.status_at(at) == "valid"}
    required = {m.certificate_type for m in item.materials if m.required}
    rows, missing = [], []
    for material in item.materials:
        certificate = valid.get(material.certificate_type or "")
        if material.required and certificate is None:
            missing.append(material.material_key)
        elif certificate is not None and (material.required
                                          or material.certificate_type not in required):
            rows.append(CaseMaterial(material_key=material.material_key, name=material.name,
                                     source="certificate", certificate_id=certificate.id))
    if strict and missing:
        raise RuntimeError(f"demo applicant cannot file {item.code} online: {missing} missing")
    return rows


# ------------------------------------------------------------------ the calendar


def _plan(seeding: Seeding, status: str, limit: int, code: str, centre: str | None, *,
          days_ago: int | None = None, submitted: datetime | None = None,
          steps: tuple[Step, ...] | None = None, late: bool = False,
          check_clock: bool = True) -> tuple[datetime, list[Step], list[datetime]] | None:
    """When the case was filed and moved: every move in the past, a department's on its working
    days, and the clock running out exactly when `late` (an open case is then overdue)."""
    rng = seeding.rng
    for attempt in range(ATTEMPTS):
        chosen = list(steps) if steps is not None else steps_for(rng, status, limit, code, late)
        if centre:
            chosen = window_steps(chosen, centre)
        at = submitted
        if at is None:
            age = days_ago + attempt % 7 if days_ago is not None else filing_age(rng, status, limit)
            at = submission_moment(seeding.rng, china_day(seeding.now) - timedelta(days=age),
                               "window" if centre else "online", limit)
        moments = place_steps(rng, at, chosen)
        if max([at, *moments]) > seeding.now - timedelta(minutes=2):
            continue
        is_open = (chosen[-1].status if chosen else "submitted") in OPEN_STATUSES
        if check_clock and ran_late(at, limit, chosen, moments,
                                     seeding.now if is_open else None) != late:
            continue
        return at, chosen, moments
    return None


def _walk(seeding: Seeding, case: Case, steps: list[Step], moments: list[datetime]) -> None:
    for step, at in zip(steps, moments, strict=True):
        _note_overdue(seeding, case, at)
        move(case, step.status, source=step.source, name=step.name, at=at, note=step.note,
             department=step.department)
    _note_overdue(seeding, case, seeding.now)


def _note_overdue(seeding: Seeding, case: Case, until: datetime) -> None:
    """Mark the case overdue as the sweep (every ten minutes) would have, had its clock run out
    before `until`."""
    if (case.is_open and case.paused_at is None and case.overdue_at is None
            and case.due_at is not None and case.due_at < until):
        swept = case.due_at + timedelta(minutes=seeding.rng.randint(1, 10))
        mark_overdue(case, min(swept, until))


# ------------------------------------------------------------------ ratings


def _rate(seeding: Seeding) -> int:
    """Good ratings on some finished cases; bad ones, each opening a rectification, on recent
    cases that were late or needed a supplement."""
    rng = seeding.rng
    finished = [c for case in seeding.cases for c in (case, *case.children)
                if c.kind == "item" and c.status in ("approved", "rejected")]
    recent = seeding.now - timedelta(days=4)
    troubled = sorted((c for c in finished if c.status == "rejected" or c.overdue_at is not None
                       or any(n.status == "supplement_requested" for n in c.nodes)),
                      key=lambda c: c.closed_at, reverse=True)
    # The last four days' troubled cases; on a day when none closed in them (it depends on
    # the weekday the demo is seeded), the latest ones, so that the demo always has bad ratings.
    troubled = [c for c in troubled if c.closed_at >= recent] or troubled[:2 * BAD_RATINGS]
    bad = rng.sample(troubled, min(BAD_RATINGS, len(troubled)))
    good = rng.sample([c for c in finished if c.status == "approved" and c not in bad],
                      GOOD_RATINGS)
    for case in good:
        _rating(seeding, case, rng.choice((5, 5, 5, 4)), rng.sample(GOOD_TAGS, 2),
                rng.choice(GOOD_COMMENTS))
    for case in bad:
        rating = _rating(seeding, case, rng.choice((1, 2)), rng.sample(BAD_TAGS, 1),
                         rng.choice(BAD_COMMENTS))
        open_rectification(case, rating, rating.created_at)
    return len(good) + 2 * len(bad)


def _rating(seeding: Seeding, case: Case, score: int, tags: list[str], comment: str
            ) -> CaseRating:
    rated_at = min(case.closed_at + timedelta(minutes=seeding.rng.randint(30, 2880)),
                   seeding.now - timedelta(minutes=1))
    rating = CaseRating(case_id=case.id, user_id=case.applicant_user_id, score=score, tags=tags,
                        comment=comment, created_at=rated_at)
    db.session.add(rating)
    db.session.flush()
    return rating
