"""Reading cases: the caller's list, one case with its timeline, and the lookup without login.

Who sees a case: its applicant, for a personal case; for an enterprise's case, whoever reaches
the enterprise for `cases` now (its legal representative, an agent within scope and expiry).
Anyone else is told the case does not exist, as for a case number nobody has.
"""

from __future__ import annotations

import hmac
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.cases.forms import masked_form
from app.cases.lifecycle import STATUS_LABELS, is_overdue, timeline, working_days_left
from app.extensions import db
from app.identity.enterprises import enterprises_reachable, require_enterprise_access
from app.models import Bundle, Enterprise, ServiceItem, User
from app.models.case import Case, CaseRating
from app.platform.errors import NotFound
from app.platform.orm import utcnow
from app.platform.pages import Page
from app.privacy.vault import vault

NOT_FOUND_MESSAGE = "办件不存在或查询码错误"


def _not_found() -> NotFound:
    return NotFound(NOT_FOUND_MESSAGE, errors={"case_no": ["not found"]})


def _scopes(user: User, enterprise_uscc: str | None) -> list[sa.ColumnElement[bool]]:
    """One condition per list the caller reads: their own, and each enterprise's."""
    if enterprise_uscc:
        enterprise = require_enterprise_access(user, enterprise_uscc, "cases")
        return [Case.enterprise_id == enterprise.id]
    own = sa.and_(Case.applicant_user_id == user.id, Case.enterprise_id.is_(None))
    return [own, *(Case.enterprise_id == e.id for e in enterprises_reachable(user, "cases"))]


def list_cases(user: User, *, status: str | None = None, enterprise_uscc: str | None = None,
               since: datetime | None = None, until: datetime | None = None, page: int = 1,
               per_page: int = 20) -> Page:
    """The caller's cases (top level: a bundle's members come inside it), newest first, as
    their list views.

    One statement reads every scope's newest ids from its index; a second fetches the page's
    rows (the columns the list shows, with their enterprise). Only a scope with more cases than
    the pages asked for is counted, in a third."""
    filters = [Case.parent_id.is_(None)]
    if status:
        filters.append(Case.status == status)
    if since:
        filters.append(Case.submitted_at >= since)
    if until:
        filters.append(Case.submitted_at < until)
    wanted = page * per_page
    conditions = [sa.and_(scope, *filters) for scope in _scopes(user, enterprise_uscc)]
    # Each scope as a derived table, so that its ORDER BY and LIMIT hold inside the union
    # on every database.
    newest = [sa.select(sa.literal(n).label("scope"), Case.submitted_at, Case.id)
              .where(condition).order_by(Case.submitted_at.desc(), Case.id.desc())
              .limit(wanted).subquery(f"s{n}") for n, condition in enumerate(conditions)]
    heads = db.session.execute(sa.union_all(*(sa.select(s) for s in newest))
                               if len(newest) > 1 else sa.select(newest[0])).all()
    found = [0] * len(conditions)
    for head in heads:
        found[head.scope] += 1
    full = [conditions[n] for n, count in enumerate(found) if count >= wanted]
    total = len(heads) - sum(found[n] for n, count in enumerate(found) if count >= wanted)
    if full:
        total += db.session.scalar(sa.select(sa.func.count()).select_from(Case)
                                   .where(sa.or_(*full))) or 0
    ordered = sorted(((h.submitted_at, h.id) for h in heads), reverse=True)
    ids = [case_id for _, case_id in ordered[(page - 1) * per_page:wanted]]
    return Page(_list_views(ids), page, per_page, total)


def _list_views(ids: list[int]) -> list[dict[str, Any]]:
    """The list views of the cases `ids`, in that order: their columns alone, no entities."""
    if not ids:
        return []
    rows = {row.id: row for row in db.session.execute(
        sa.select(*_SUMMARY_COLUMNS, Enterprise.uscc, Enterprise.name.label("enterprise_name"))
        .outerjoin(Enterprise, Enterprise.id == Case.enterprise_id)
        .where(Case.id.in_(ids)))}
    enterprises = {row.enterprise_id: {"uscc": row.uscc, "name": row.enterprise_name}
                   for row in rows.values() if row.enterprise_id is not None}
    now = utcnow()
    return [summary(rows[i], now, enterprises) for i in ids if i in rows]


def visible_case(user: User, case_no: str) -> Case:
    """A case the caller may see; 404 alike for one that does not exist and one they may not."""
    case = db.session.scalar(sa.select(Case).where(Case.case_no == case_no))
    if case is None or not can_see(user, case):
        raise _not_found()
    return case


def can_see(user: User, case: Case) -> bool:
    if case.enterprise_id is None:
        return case.applicant_user_id == user.id
    return any(e.id == case.enterprise_id for e in enterprises_reachable(user, "cases"))


def looked_up(case_no: str, query_code: str) -> Case:
    """The case a number and query code name; a wrong code answers exactly as no case does."""
    case = db.session.scalar(sa.select(Case).where(Case.case_no == case_no))
    # Compared in constant time, and compared even when there is no case, so neither the
    # answer nor its timing tells a wrong code from an unknown number.
    expected = case.query_code if case is not None else "~" * 8
    if not hmac.compare_digest(expected.encode(), query_code.upper().encode()) or case is None:
        raise _not_found()
    return case


def _node(node: Any, with_note: bool) -> dict[str, Any]:
    view = {"name": node.name, "status": node.status, "status_label": STATUS_LABELS[node.status],
            "at": node.at, "department": node.department}
    if with_note:
        view["note"] = node.note
    return view


# What the list view reads of a case (and the working-day clock behind its figures).
_SUMMARY_COLUMNS = (Case.id, Case.case_no, Case.kind, Case.service_code, Case.service_name,
                    Case.department, Case.status, Case.instant, Case.channel,
                    Case.submitted_at, Case.due_at, Case.closed_at, Case.paused_at,
                    Case.enterprise_id)


def summary(case: Any, now: datetime | None = None,
            enterprises: dict[int, dict[str, str]] | None = None) -> dict[str, Any]:
    """The list view of a case (`enterprises`: those of its page, by id, when read already)."""
    now = now or utcnow()
    return {
        "case_no": case.case_no, "kind": case.kind,
        "service": {"code": case.service_code, "name": case.service_name,
                    "department": case.department},
        "status": case.status, "status_label": STATUS_LABELS[case.status],
        "instant": case.instant, "channel": case.channel,
        "submitted_at": case.submitted_at, "due_at": case.due_at, "closed_at": case.closed_at,
        "overdue": is_overdue(case, now), "working_days_left": working_days_left(case, now),
        "enterprise": (enterprises.get(case.enterprise_id) if enterprises is not None
                       else _enterprise(case.enterprise_id)),
    }


def _enterprise(enterprise_id: int | None) -> dict[str, str] | None:
    if enterprise_id is None:
        return None
    enterprise = db.session.get(Enterprise, enterprise_id)
    return None if enterprise is None else {"uscc": enterprise.uscc, "name": enterprise.name}


def detail(case: Case, user: User) -> dict[str, Any]:
    """Everything the applicant (or their enterprise's people) may see of a case."""
    now = utcnow()
    form = json.loads(vault().decrypt(case.form_enc, "case.form")) if case.form_enc else {}
    rating = db.session.scalar(sa.select(CaseRating).where(CaseRating.case_id == case.id))
    parent = db.session.get(Case, case.parent_id) if case.parent_id else None
    return {
        **summary(case, now),
        "query_code": case.query_code,
        "nodes": [_node(n, True) for n in timeline(case)],
        "materials": [{"material_id": m.material_key, "name": m.name, "source": m.source,
                       "certificate_id": str(m.certificate_id) if m.certificate_id else None,
                       "upload_id": m.upload_id} for m in case.materials],
        "form": masked_form(_form_definition(case), form),
        # Only a bundle has members: an item case does not ask the database for them.
        "children": ([summary(child, now) for child in case.children]
                     if case.kind == "bundle" else []),
        "parent_case_no": parent.case_no if parent else None,
        "rating": None if rating is None else {"score": rating.score, "tags": rating.tags,
                                                "comment": rating.comment,
                                                "created_at": rating.created_at},
        "can_withdraw": case.status == "submitted" and case.parent_id is None,
        "can_rate": (case.status in ("approved", "rejected") and rating is None
                     and case.kind == "item"),
    }


def _form_definition(case: Case) -> dict[str, Any] | None:
    """The form the case was filled in: its column alone, not the item with its guide."""
    model = Bundle if case.kind == "bundle" else ServiceItem
    return db.session.scalar(sa.select(model.form).where(model.code == case.service_code))


def public_view(case: Case) -> dict[str, Any]:
    """What the lookup without login shows: progress, no personal data, no notes."""
    now = utcnow()
    return {
        "case_no": case.case_no,
        "service": {"code": case.service_code, "name": case.service_name,
                    "department": case.department},
        "status": case.status, "status_label": STATUS_LABELS[case.status],
        "submitted_at": case.submitted_at, "due_at": case.due_at, "closed_at": case.closed_at,
        "overdue": is_overdue(case, now), "working_days_left": working_days_left(case, now),
        "nodes": [_node(n, False) for n in timeline(case)],
    }
