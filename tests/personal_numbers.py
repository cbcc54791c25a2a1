"""Keeps track of the clear ID numbers tests use, and finds them where they must never be:
log output and database rows (rule 2 of DESIGN.md)."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from app.seed.fake_identifiers import fake_id_number

_log_lines: list[str] = []


def _demo_numbers() -> set[str]:
    from app.seed.identity import DEMO_ENTERPRISES, DEMO_PEOPLE

    people = {fake_id_number(p[3], p[4], p[5]) for p in DEMO_PEOPLE}
    return people | {fake_id_number(*rep) for *_, rep in DEMO_ENTERPRISES
                     if isinstance(rep, tuple)}


_used: set[str] = _demo_numbers()


def new_id_number(region_code: str = "530102", birth_year: int = 1990, **kwargs) -> str:
    """A valid fictitious ID number, remembered so the scans look for it."""
    from datetime import date

    sequence = 1 + len(_used) % 998
    number = fake_id_number(region_code, kwargs.pop("birth_date", date(birth_year, 1, 1)),
                            sequence, **kwargs)
    _used.add(number)
    return number


def remember(number: str) -> str:
    _used.add(number)
    return number


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
    return find_leaks(_log_lines, _used)


def leaks_in_database() -> list[str]:
    """`table.column` for each stored value holding a clear number the tests used."""
    from app.extensions import db

    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).mappings():
            for column, value in row.items():
                if value is not None and find_leaks([str(value)], _used):
                    found.append(f"{table.name}.{column}")
    return found
