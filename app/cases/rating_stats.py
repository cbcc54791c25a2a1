"""好差评 statistics for admins: volume, satisfaction and timeliness by service, department or
region over a period, in one aggregate query per answer (GROUP BY, no rows fetched).

What is counted: the item cases (a bundle's member cases included, its parent not, which would
count them twice) submitted in the period, China days `since` to `until` inclusive; everything
else is measured on those cases, whenever it happened.

- `cases`: that volume. `finished`: those approved or rejected (a withdrawal is not finished
  work). `rated`: those with a rating.
- `satisfaction`: the share of ratings with a score of 4 or 5; `average_score`: their mean.
- `online_share` (网办率): the share of cases filed online; `instant_share`: approved at
  submission (秒批).
- `overdue_rate`: of the cases whose timeliness is settled, the share that was late. Settled
  are the finished cases (late when closed after their due time) and the open cases already
  past due with their clock running (late whatever happens next); an open case within its
  time, or one whose clock a supplement request stopped, is not settled yet and counts in
  neither number. A withdrawn case is in neither.

A ratio whose denominator is 0 is null; ratios have 4 decimals, the average score 2.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from app.cases.lifecycle import china_day
from app.extensions import db
from app.models import Region
from app.models.case import OPEN_STATUSES, Case, CaseRating
from app.platform.clock import CHINA_TZ
from app.platform.errors import InvalidInput
from app.platform.orm import utcnow
from app.privacy.identifiers import region_prefix

GROUPS = ("service", "department", "region")
DEFAULT_DAYS = 30
MAX_DAYS = 366
FINISHED = ("approved", "rejected")


def period(since: date | None, until: date | None, now: datetime) -> tuple[date, date]:
    """The period asked for, China days inclusive: up to today and the 30 days ending on
    `until` unless given; at most 366 days (422 naming the date at fault)."""
    until = until or china_day(now)
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise InvalidInput("until", "结束日期不能早于开始日期")
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidInput("since", f"统计周期最长 {MAX_DAYS} 天")
    return since, until


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _measures(now: datetime) -> list[sa.ColumnElement[Any]]:
    finished = Case.status.in_(FINISHED)
    running_late = sa.and_(Case.status.in_(OPEN_STATUSES), Case.paused_at.is_(None),
                           Case.due_at < now)
    closed_late = sa.and_(finished, Case.closed_at > Case.due_at)
    return [
        sa.func.count(Case.id).label("cases"),
        _count_if(finished).label("finished"),
        sa.func.count(CaseRating.id).label("rated"),
        _count_if(CaseRating.score >= 4).label("satisfied"),
        sa.func.avg(CaseRating.score).label("average_score"),
        _count_if(Case.channel == "online").label("online"),
        _count_if(Case.instant.is_(True)).label("instant"),
        _count_if(sa.or_(finished, running_late)).label("settled"),
        _count_if(sa.or_(closed_late, running_late)).label("overdue"),
    ]


def _grouping(group_by: str) -> tuple[list[sa.ColumnElement[Any]], sa.ColumnElement[Any],
                                       sa.ColumnElement[Any]]:
    """(GROUP BY columns, the key, the name) of a grouping."""
    if group_by == "service":
        return [Case.service_code], Case.service_code, sa.func.max(Case.service_name)
    if group_by == "department":
        return [Case.department], Case.department, Case.department
    if group_by == "region":
        return [Case.region_code, Region.name], Case.region_code, Region.name
    raise InvalidInput("group_by", "未知的统计维度", [f"one of: {', '.join(GROUPS)}"])


def rating_stats(*, group_by: str = "service", since: date | None = None,
                 until: date | None = None, region: str | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """One row per service, department or region with cases in the period, most cases first,
    and a row of totals (see the module's docstring for what each number means)."""
    now = now or utcnow()
    since, until = period(since, until, now)
    group_columns, key, name = _grouping(group_by)
    start = datetime.combine(since, time(), CHINA_TZ)
    end = datetime.combine(until + timedelta(days=1), time(), CHINA_TZ)
    filters = [Case.kind == "item", Case.submitted_at >= start, Case.submitted_at < end]
    if region:
        filters.append(Case.region_code.startswith(region_prefix(region), autoescape=True))
    measures = _measures(now)

    def counted(query: sa.Select) -> sa.Select:
        query = query.select_from(Case).outerjoin(CaseRating, CaseRating.case_id == Case.id)
        return query.where(*filters)

    grouped = counted(sa.select(key.label("key"), name.label("name"), *measures))
    if group_by == "region":
        grouped = grouped.outerjoin(Region, Region.code == Case.region_code)
    grouped = grouped.group_by(*group_columns)
    rows = [_row(r.key, r.name, r) for r in db.session.execute(grouped)]
    rows.sort(key=lambda row: (-row["cases"], row["key"]))
    totals = db.session.execute(counted(sa.select(*measures))).one()
    return {"group_by": group_by, "since": since, "until": until, "region": region,
            "rows": rows, "totals": _row("total", "合计", totals)}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _row(key: str | None, name: str | None, counts: Any) -> dict[str, Any]:
    cases, rated = int(counts.cases), int(counts.rated)
    average = counts.average_score
    return {
        "key": key or "", "name": name or "", "cases": cases,
        "finished": int(counts.finished), "rated": rated,
        "satisfaction": _ratio(int(counts.satisfied), rated),
        "average_score": None if average is None else round(float(average), 2),
        "online_share": _ratio(int(counts.online), cases),
        "instant_share": _ratio(int(counts.instant), cases),
        "overdue_rate": _ratio(int(counts.overdue), int(counts.settled)),
    }
