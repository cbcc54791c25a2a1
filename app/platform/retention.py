"""Data retention: each kind of record is kept for its configured days, then purged.

The purge runs daily (the `maintenance.purge_expired` task, on Celery beat) and on demand
(`flask purge-expired`). It deletes in batches, each its own short transaction, so a large
backlog never holds locks on a busy table for long; a purge cut short resumes where it stopped
the next time, as nothing but age (and a kind's standing condition) chooses the rows. Uploads
go only once no case holds them, and their files with them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from app.cases.uploads import UNATTACHED, discard_files
from app.extensions import db
from app.models import AuditEntry, CertificateAccess, Presentation
from app.models.case import Upload
from app.platform import audit
from app.platform.orm import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionKind:
    """Rows of one table that go once `stamp` is older than the setting's days (0: never),
    and only those that meet `only`; `after` is handed the keys of each batch deleted."""

    name: str
    setting: str
    stamp: InstrumentedAttribute[datetime]
    key: InstrumentedAttribute[Any]
    only: tuple[sa.ColumnElement[bool], ...] = ()
    after: Callable[[list[Any]], None] | None = None


# Inbox messages (RETENTION_INBOX_DAYS) join this list with their table, when push arrives.
KINDS: tuple[RetentionKind, ...] = (
    RetentionKind("access_log", "RETENTION_ACCESS_LOG_DAYS", CertificateAccess.at,
                  CertificateAccess.id),
    # Counted from the token's expiry: a late scan still reaches the holder's access log.
    RetentionKind("presentations", "RETENTION_PRESENTATIONS_DAYS", Presentation.expires_at,
                  Presentation.jti),
    RetentionKind("audit_log", "RETENTION_AUDIT_LOG_DAYS", AuditEntry.at, AuditEntry.id),
    # Uploads that joined no case; their files go from disk once their rows are gone.
    RetentionKind("uploads", "RETENTION_UPLOADS_DAYS", Upload.created_at, Upload.id,
                  only=(UNATTACHED,), after=discard_files),
)


def purge_kind(kind: RetentionKind, *, older_than: datetime, batch_size: int) -> int:
    """Delete the kind's rows stamped before `older_than`, committing each batch; the count."""
    deleted = 0
    while True:
        # In stamp order, so the database walks the stamp's index instead of sorting the
        # backlog for every batch.
        keys = list(db.session.scalars(sa.select(kind.key).where(kind.stamp < older_than,
                                                                 *kind.only)
                                       .order_by(kind.stamp).limit(batch_size)))
        if not keys:
            return deleted
        # `only` again: a row may have stopped meeting it since (an upload joined a case).
        result = db.session.execute(sa.delete(kind.key.class_)
                                    .where(kind.key.in_(keys), *kind.only)
                                    .execution_options(synchronize_session=False))
        kept = (set(db.session.scalars(sa.select(kind.key).where(kind.key.in_(keys))))
                if kind.after else set())
        db.session.commit()
        deleted += result.rowcount
        if kind.after:
            kind.after([key for key in keys if key not in kept])
        if len(keys) < batch_size:
            return deleted


def purge_expired(config: Mapping[str, Any], now: datetime | None = None) -> dict[str, int]:
    """Purge every kind past its retention; rows deleted per kind (0 days keeps a kind)."""
    now = now or utcnow()
    batch_size = max(1, int(config["RETENTION_BATCH_SIZE"]))
    counts = {}
    for kind in KINDS:
        days = int(config[kind.setting])
        counts[kind.name] = purge_kind(kind, older_than=now - timedelta(days=days),
                                       batch_size=batch_size) if days > 0 else 0
    if any(counts.values()):
        # Deleting records, audit entries among them, is itself an act the audit log keeps.
        audit.record("retention.purged", actor=None, actor_name="retention",
                     target_type="retention", details=counts)
        db.session.commit()
    log.info("retention purge: %s", ", ".join(f"{name} {count}"
                                               for name, count in counts.items()))
    return counts
