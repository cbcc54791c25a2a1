"""The declarative base every model shares: naming conventions, column types, table options."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so that migrations can name what they drop, on MySQL and SQLite alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# utf8mb4 whatever the server's default, so Chinese names and rare characters round-trip.
MYSQL_TABLE_OPTIONS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}

# SQLite only auto-increments an INTEGER PRIMARY KEY, so the big integer is narrowed there.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Both hold a signed 64-bit integer: a larger id makes the drivers raise, not find nothing.
MAX_ROW_ID = 2**63 - 1
# ASCII only (`str.isdigit` and `int` also take "²" and full-width digits), one spelling per id.
ROW_ID_PATTERN = re.compile(r"[1-9][0-9]{0,18}")


def parse_row_id(text: str) -> int | None:
    """The row id a string spells (ASCII digits, 1 … 2⁶³−1), or None when it spells none."""
    if ROW_ID_PATTERN.fullmatch(text) is None:
        return None
    number = int(text)
    return number if number <= MAX_ROW_ID else None


def table_args(*items: Any) -> tuple[Any, ...]:
    """`__table_args__` for a model with constraints or indexes of its own."""
    return (*items, MYSQL_TABLE_OPTIONS)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores naive UTC (portable across MySQL and SQLite), hands back aware UTC datetimes."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        # MySQL's DATETIME keeps whole seconds: two events in one second would lose their order.
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime in UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    __table_args__ = MYSQL_TABLE_OPTIONS


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite ignores foreign keys (and their ON DELETE) unless each connection asks."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
