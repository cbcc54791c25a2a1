"""Writes the audit log: who did what to which object, from where, in which request."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g, has_app_context

from app.extensions import db
from app.models import AdminAccount, AuditEntry
from app.platform.pages import Page, paginate


def record(action: str, *, actor: AdminAccount | None, target_type: str = "",
           target_id: str | int = "", actor_name: str | None = None,
           details: dict[str, Any] | None = None) -> AuditEntry:
    """Add an audit entry to the current transaction (it commits with the action it records)."""
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor_name=actor_name or (actor.username if actor else "-"),
        action=action, target_type=target_type, target_id=str(target_id),
        details=details or {},
        # Set by the HTTP layer for each request; a task or a command has neither.
        request_id=(g.get("request_id") or "") if has_app_context() else "",
        ip_address=(g.get("client_ip") or "") if has_app_context() else "",
    )
    db.session.add(entry)
    return entry


def audit_page(*, page: int, per_page: int, action: str | None = None,
               actor: str | None = None) -> Page:
    """Newest entries first, optionally of one action or one actor."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor_name == actor)
    return paginate(query, page=page, per_page=per_page)
