"""Case numbers (办件编号) and query codes.

A case number reads as province, China date and serial: `53` `20261125` `0000042`. The serial
comes from a counter row per province and day. On MySQL the counter moves in a transaction of
its own, committed at once, so concurrent submissions wait for each other only for that one
statement instead of for each other's whole submission; a submission that then fails leaves a
gap in the serials, which is harmless. SQLite has one writer anyway: there the counter moves in
the submission's own transaction.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.case import CaseSerial
from app.platform.clock import CHINA_TZ

# Case numbers carry the China date (UTC+8, the one zone of app/platform/clock.py).
CHINA = CHINA_TZ
SERIAL_DIGITS = 7
# Query codes avoid look-alikes (0/O, 1/I/L) so they survive being read out over the phone.
QUERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
QUERY_CODE_LENGTH = 8


def china_date(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y%m%d")


def next_case_no(province: str, moment: datetime) -> str:
    """A case number no other submission gets, whatever runs at the same time."""
    day = china_date(moment)
    scope = f"{province}:{day}"
    if db.engine.dialect.name == "sqlite":
        serial = _advance(db.session.connection(), scope)
    else:
        with db.engine.begin() as connection:
            serial = _upsert(connection, scope)
    return f"{province}{day}{serial:0{SERIAL_DIGITS}d}"


def _upsert(connection: sa.Connection, scope: str) -> int:
    """MySQL: create the day's row or move it in one statement, then read it under the row lock
    that statement holds. An UPDATE that finds no row would take a gap lock instead, and two
    first submissions of a day holding it would deadlock on their INSERTs."""
    table = CaseSerial.__table__
    connection.execute(mysql.insert(table).values(scope=scope, last=1)
                       .on_duplicate_key_update(last=table.c.last + 1))
    return connection.scalar(sa.select(table.c.last).where(table.c.scope == scope))


def _advance(connection: sa.Connection, scope: str) -> int:
    table = CaseSerial.__table__
    for _ in range(3):
        moved = connection.execute(sa.update(table).where(table.c.scope == scope)
                                   .values(last=table.c.last + 1)).rowcount
        if moved:
            return connection.scalar(sa.select(table.c.last).where(table.c.scope == scope))
        try:
            # The day's first case: another submission may create the row at the same moment.
            with connection.begin_nested():
                connection.execute(sa.insert(table).values(scope=scope, last=1))
            return 1
        except IntegrityError:
            continue
    raise RuntimeError(f"case serial for {scope} could not be advanced")


def new_query_code() -> str:
    return "".join(secrets.choice(QUERY_ALPHABET) for _ in range(QUERY_CODE_LENGTH))
