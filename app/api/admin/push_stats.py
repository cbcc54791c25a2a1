"""What a push rule achieved, for admins: its runs' counts, what people did with the
messages, and the progress of a run in flight (push_admin, push_approver and auditors)."""

from __future__ import annotations

import marshmallow as ma

from app.api.permissions import roles_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime
from app.push.rules import rule_of
from app.push.stats import run_stats

blp = Blueprint("push_stats", __name__, url_prefix="/api/v1/admin/push-rules",
                description="What push rules achieved (push_admin, push_approver, auditor)")
READERS = ("push_admin", "push_approver", "auditor")
Int = ma.fields.Integer


class SkippedSchema(ma.Schema):
    capped = Int(metadata={"description": "held back by a frequency cap"})
    quiet_hours = Int(metadata={"description": "WeChat: inside the person's quiet hours"})
    muted = Int(metadata={"description": "the person mutes the rule's category"})
    opted_out = Int(metadata={"description": "WeChat: the person turned WeChat messages off"})
    no_consent = Int(metadata={"description": "WeChat: no subscription consent"})
    duplicate = Int(metadata={"description": "reached already by this run"})


class ProgressSchema(ma.Schema):
    run_id = ma.fields.String(metadata={"example": "1"})
    targeted = Int()
    delivered = Int()
    started_at = LocalDateTime()


class WeChatStatsSchema(ma.Schema):
    delivered = Int(metadata={"description": "WeChat accepted the message (it gave a msgid)"})
    in_flight = Int(metadata={"description": "claimed or waiting sends not finished yet"})


class PushStatsSchema(ma.Schema):
    runs = Int(metadata={"description": "runs of the rule so far"})
    stopped_runs = Int(metadata={"description": "runs withdrawn by the kill switch"})
    targeted = Int(metadata={"description": "people the audience held, summed over runs"})
    skipped = ma.fields.Nested(SkippedSchema)
    sent = Int(metadata={"description": "WeChat messages handed to WeChat"})
    delivered = Int(metadata={"description": "people whose inbox shows the message"})
    failed = Int()
    unknown = Int(metadata={"description": "WeChat sends whose outcome is not known"})
    wechat = ma.fields.Nested(WeChatStatsSchema)
    read = Int()
    clicked = Int()
    applied_within_7d = Int(metadata={"description": "people who clicked and then applied for"
                                                     " the rule's service within 7 days"})
    progress = ma.fields.Nested(ProgressSchema, allow_none=True, metadata={
        "description": "the run still delivering, or null"})


@blp.get("/<id:rule_id>/stats")
@roles_required(*READERS)
@blp.response(200, PushStatsSchema)
def get_push_rule_stats(rule_id: int) -> dict:
    """The rule's runs summed: targeted, skipped by reason, delivered, read, clicked, applied
    within 7 days, and the progress of a run in flight."""
    rule_of(rule_id)  # an unknown rule is a 404, not a rule without runs
    return run_stats(rule_id)
