"""Idempotency of writes that come from outside, by the sender's key and its event id.

A department system retries when it sees no answer, so an event may arrive twice; whatever
`kind` of event it is (an issued certificate, a case status, a delivery receipt), the second
arrival gets the first answer back and changes nothing (rule 4 of DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.extensions import db
from app.models.integration import IntegrationEvent
from app.platform.errors import Conflict


def once(key_id: str, event_id: str, kind: str,
         act: Callable[[], tuple[int, dict[str, Any]]]) -> tuple[int, dict[str, Any]]:
    """Run `act` for a new event; a repeated event id gets the first answer back unchanged."""
    seen = db.session.get(IntegrationEvent, (key_id, event_id))
    if seen is not None:
        if seen.kind != kind:
            raise Conflict("事件编号已用于其他操作", errors={"event_id": [seen.kind]})
        return seen.status_code, seen.response
    status, response = act()
    db.session.add(IntegrationEvent(department_key_id=key_id, event_id=event_id, kind=kind,
                                    status_code=status, response=response))
    return status, response
