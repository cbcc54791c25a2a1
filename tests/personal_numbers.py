"""Keeps track of the personal numbers (ID, phone and certificate numbers) and the secrets tests
use, and finds them where they must never be: log output and database rows (rule 2 of
DESIGN.md)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable

import sqlalchemy as sa

from app.seed.fake_identifiers import fake_id_number

_log_lines: list[str] = []


def _demo_numbers() -> set[str]:
    from app.seed.identity import DEMO_ENTERPRISES, DEMO_PEOPLE

    people = {fake_id_number(p[3], p[4], p[5]) for p in DEMO_PEOPLE}
    return people | {fake_id_number(*rep) for *_, rep in DEMO_ENTERPRISES
                     if isinstance(rep, tuple)}


_used: set[str] = _demo_numbers()
_phones: set[str] = set()
_certificate_numbers: set[str] = set()
_secrets: set[str] = set()
_serial = itertools.count(1)
_id_serials: dict[tuple, itertools.count] = {}
# Shorter values (key ids such as "t1") occur by chance in any text; no secret is this short.
MIN_SECRET_LENGTH = 8


def new_id_number(region_code: str = "530102", birth_year: int = 1990, **kwargs) -> str:
    """A valid fictitious ID number, remembered so the scans look for it."""
    from datetime import date, timedelta

    given = kwargs.pop("birth_date", None)
    # Two calls never give the same number: each kind walks its own sequences, and once a long
    # run has used all 998 of January 1st, the next days of the year (a given date has no next).
    serial = _id_serials.setdefault((region_code, given or birth_year, *kwargs.values()),
                                    itertools.count())
    for n in serial:
        if n >= 998 * (1 if given else 365):
            break
        birth_date = given or date(birth_year, 1, 1) + timedelta(days=n // 998)
        number = fake_id_number(region_code, birth_date, 1 + n % 998, **kwargs)
        if number not in _used:
            _used.add(number)
            return number
    raise RuntimeError("every fictitious ID number of this region and birth date is used")


def remember(number: str) -> str:
    _used.add(number)
    return number


def new_phone_number() -> str:
    """A made-up mobile number, remembered so the scans look for it."""
    return remember_phone(f"1990000{next(_serial) % 10000:04d}")


def remember_phone(number: str) -> str:
    _phones.add(number)
    return number


def new_certificate_number(prefix: str = "ZSB") -> str:
    """A made-up certificate number, long enough never to occur by chance, remembered."""
    return remember_certificate_number(f"{prefix}{next(_serial):09d}")


def remember_certificate_number(number: str) -> str:
    _certificate_numbers.add(number)
    return number


def remember_secrets(values: Iterable[str]) -> None:
    """Secrets the scans look for: keys, passwords, tokens. A `kid:key,...` list counts by its
    keys only: key ids are names, not secrets."""
    for value in values:
        for part in value.split(","):
            secret = part.rpartition(":")[2] if ":" in part and "://" not in part else part
            if len(secret) >= MIN_SECRET_LENGTH:
                _secrets.add(secret)


def watched() -> set[str]:
    """Everything the scans look for."""
    return _used | _phones | _certificate_numbers | _secrets


class _Capture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        _log_lines.append(f"{record.name}: {text}")


def start_capturing_logs() -> None:
    """Capture every log record of the run, as emitted, before any masking filter sees it."""
    handler = _Capture(level=logging.DEBUG)
    logging.getLogger().addHandler(handler)


def find_leaks(texts: list[str], numbers: set[str]) -> list[str]:
    """The texts that contain any of the numbers (also with a lower-case check character)."""
    variants = numbers | {n.lower() for n in numbers}
    return [text[:200] for text in texts if any(v in text for v in variants)]


def leaks_in_captured_logs() -> list[str]:
    return find_leaks(_log_lines, watched())


def leaks_in_database() -> list[str]:
    """`table.column` for each stored value holding a clear number or a secret the tests used,
    in every table the database has (not only those the models know)."""
    from app.extensions import db

    found = []
    numbers = watched()
    quote = db.engine.dialect.identifier_preparer.quote
    for name in sorted(sa.inspect(db.engine).get_table_names()):
        for row in db.session.execute(sa.text(f"SELECT * FROM {quote(name)}")).mappings():
            for column, value in row.items():
                if value is not None and find_leaks([str(value)], numbers):
                    found.append(f"{name}.{column}")
    return found
