"""WeChat subscribe-message consent: the credits `wx.requestSubscribeMessage` gives a person.

Each "accept" of a one-time template allows one send of it; a "reject" adds nothing and takes
nothing (the accepts before it still stand, as they do at WeChat). A long-term template
(`WECHAT_LONG_TERM_TEMPLATES`) keeps standing consent from an "accept" until a "reject". A send
uses a credit when it is claimed, in the claim's transaction; one WeChat did not take is given
back, and WeChat's "no subscription left" (43101) spends them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.push_delivery import SubscriptionCredit
from app.platform.orm import utcnow

RESULTS = ("accept", "reject")
# A person who taps "accept" every day for years is still one small number.
MAX_CREDITS = 1000


def long_term_templates() -> frozenset[str]:
    """The template ids configured as long-term."""
    listed = current_app.config["WECHAT_LONG_TERM_TEMPLATES"] or ""
    return frozenset(part.strip() for part in listed.split(",") if part.strip())


def credit_state(user_id: int, template_id: str) -> dict[str, Any]:
    """The person's consent for a template: credits, long_term, can_send, updated_at."""
    found = db.session.scalar(sa.select(SubscriptionCredit).where(_row(user_id, template_id))
                              .execution_options(populate_existing=True))
    long_term = template_id in long_term_templates()
    if found is None:
        return {"template_id": template_id, "credits": 0, "long_term": long_term,
                "can_send": False, "updated_at": None}
    return {"template_id": template_id, "credits": found.credits, "long_term": found.long_term,
            "can_send": found.credits > 0, "updated_at": found.updated_at}


def record(user_id: int, template_id: str, result: str) -> dict[str, Any]:
    """Record what the person answered WeChat's consent dialog; their consent afterwards."""
    long_term = template_id in long_term_templates()
    _ensure_row(user_id, template_id, long_term)
    row = _row(user_id, template_id)
    if long_term:
        credits: Any = 1 if result == "accept" else 0
    elif result == "accept":
        # Added in SQL: two accepts recorded at once both count.
        held = SubscriptionCredit.credits
        credits = sa.case((held < MAX_CREDITS, held + 1), else_=held)
    else:
        credits = SubscriptionCredit.credits
    db.session.execute(sa.update(SubscriptionCredit).where(row).values(
        credits=credits, long_term=long_term, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    return credit_state(user_id, template_id)


def _ensure_row(user_id: int, template_id: str, long_term: bool) -> None:
    if db.session.scalar(sa.select(SubscriptionCredit.id).where(
            _row(user_id, template_id))) is not None:
        return
    try:
        # Two first answers at once: the second finds the row the first made.
        with db.session.begin_nested():
            db.session.add(SubscriptionCredit(user_id=user_id, template_id=template_id,
                                              credits=0, long_term=long_term))
    except IntegrityError:
        pass


def _row(user_id: int, template_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(SubscriptionCredit.user_id == user_id,
                   SubscriptionCredit.template_id == template_id)


def holders(user_ids: Iterable[int], template_id: str) -> set[int]:
    """Of `user_ids`, those with consent for the template now (a hint; `consume` decides)."""
    return set(db.session.scalars(sa.select(SubscriptionCredit.user_id).where(
        SubscriptionCredit.user_id.in_(list(user_ids)),
        SubscriptionCredit.template_id == template_id, SubscriptionCredit.credits > 0)))


def consume(user_id: int, template_id: str) -> bool:
    """Use one send of the person's consent; False when there is none left.

    A compare-and-set in one statement: of two claims racing for the last credit, one wins."""
    return db.session.execute(
        sa.update(SubscriptionCredit).where(_row(user_id, template_id),
                                            SubscriptionCredit.credits > 0)
        .values(credits=sa.case((SubscriptionCredit.long_term, SubscriptionCredit.credits),
                                else_=SubscriptionCredit.credits - 1))
        .execution_options(synchronize_session=False)).rowcount == 1


def give_back(user_id: int, template_id: str) -> None:
    """Return the credit of a send WeChat did not take (a one-time template's)."""
    db.session.execute(
        sa.update(SubscriptionCredit).where(_row(user_id, template_id),
                                            sa.not_(SubscriptionCredit.long_term))
        .values(credits=SubscriptionCredit.credits + 1)
        .execution_options(synchronize_session=False))


def spend_all(user_id: int, template_id: str) -> None:
    """WeChat says the person has no subscription left (43101): none is left here either."""
    db.session.execute(
        sa.update(SubscriptionCredit).where(_row(user_id, template_id))
        .values(credits=0, updated_at=utcnow())
        .execution_options(synchronize_session=False))
