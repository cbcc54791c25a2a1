"""Proactive push end to end, through the API: admin A drafts a rule and cannot approve it,
admin B approves; the run reaches the preview's audience less those skipped, by reason (a
muted person, a capped person), a person in quiet hours gets the inbox message and a WeChat
message held to the end of their quiet hours; a reader sees why they got it; the stats add up;
the kill switch withdraws the run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.push_delivery import PushSend
from app.platform.clock import CHINA_TZ
from app.push.computed import refresh_users
from app.push.inbox import forget_live_runs
from tests.factories import auth_headers, create_admin, create_item, create_theme, create_user
from tests.inbox_factories import create_rule, create_run
from tests.personal_numbers import new_id_number
from tests.wechat_factories import DATA, LONG_TERM, consent_to

API = "/api/v1"
ITEM = "GF00001001"


@pytest.fixture
def scene(app, app_context, wechat_stub, monkeypatch):
    monkeypatch.setitem(app.config, "PUSH_DAILY_CAP", 1)
    create_theme()
    create_item(code=ITEM, name="养老金资格认证")
    people = {name: create_user(id_number=new_id_number(region_code="530102", birth_year=1950))
              for name in ("reader", "muted", "capped", "quiet")}
    elsewhere = create_user(id_number=new_id_number(region_code="530302", birth_year=1950))
    young = create_user(id_number=new_id_number(region_code="530102", birth_year=1995))
    refresh_users([p.id for p in (*people.values(), elsewhere, young)])
    consent_to(people.values(), LONG_TERM, stub=wechat_stub)
    # Earlier today another rule reached the capped person: the daily cap of one is used up.
    earlier = create_rule(name="更早的推送", audience="user:registered", category="other")
    create_run(rule=earlier, recipients=[people["capped"].id])
    return people


def test_a_rule_from_draft_to_inbox_with_skips_stats_and_the_kill_switch(client, scene):
    writer = auth_headers(create_admin(username="writer", roles=("push_admin",
                                                                 "push_approver")))
    checker = auth_headers(create_admin(username="checker", roles=("push_approver",)))
    people = {name: auth_headers(user) for name, user in scene.items()}

    muted = client.put(f"{API}/me/push-preferences", headers=people["muted"], json={
        "muted_categories": ["pension"], "quiet_hours": None, "wechat_enabled": True})
    assert muted.status_code == 200, muted.get_json()
    now = datetime.now(CHINA_TZ)
    window = {"start": (now - timedelta(hours=1)).strftime("%H:%M"),
              "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    quiet = client.put(f"{API}/me/push-preferences", headers=people["quiet"], json={
        "muted_categories": [], "quiet_hours": window, "wechat_enabled": True})
    assert quiet.status_code == 200, quiet.get_json()

    audience = "region:5301 AND age:60+"
    preview = client.post(f"{API}/admin/audiences/preview", headers=writer,
                          json={"audience": f"{audience} AND NOT optout:pension"}).get_json()
    assert preview["audience_size"] == 3  # the muted person is out at once
    body = {"name": "养老金资格认证提醒", "audience": audience, "category": "pension",
            "reason": "您已到领取养老金的年龄",
            "message": {"title": "养老金资格认证", "body": "请在本月内完成资格认证。",
                        "service_code": ITEM},
            "channels": ["inbox", "wechat"],
            "wechat": {"template_id": LONG_TERM, "data": DATA[LONG_TERM]},
            "schedule": {"type": "once"}}
    rule = client.post(f"{API}/admin/push-rules", headers=writer, json=body).get_json()
    rule_url = f"{API}/admin/push-rules/{rule['id']}"
    rule_preview = client.post(f"{rule_url}/preview", headers=writer).get_json()
    assert rule_preview["audience_size"] == 4
    assert client.post(f"{rule_url}/submit", headers=writer).status_code == 200
    refused = client.post(f"{rule_url}/approve", headers=writer)
    assert refused.status_code == 403, refused.get_json()
    approved = client.post(f"{rule_url}/approve", headers=checker)
    assert approved.status_code == 200, approved.get_json()
    forget_live_runs()

    # Approved with no time: it ran at once. The preview's four, less one muted, one capped.
    stats = client.get(f"{rule_url}/stats", headers=checker).get_json()
    assert stats["targeted"] == rule_preview["audience_size"] == 4
    assert stats["skipped"]["muted"] == 1 and stats["skipped"]["capped"] == 1
    assert stats["delivered"] == 2
    assert stats["delivered"] + stats["skipped"]["muted"] + stats["skipped"]["capped"] == 4
    # WeChat: the reader's message is sent; the quiet one's waits for the window's end.
    assert stats["sent"] == 1 and stats["skipped"]["quiet_hours"] == 1
    held = db.session.scalar(sa.select(PushSend).where(
        PushSend.user_id == scene["quiet"].id))
    assert held.status == "deferred" and held.not_before is not None

    def this_rules(name: str) -> list[dict]:
        items = client.get(f"{API}/me/messages", headers=people[name]).get_json()["items"]
        return [m for m in items if m["title"] == "养老金资格认证"]

    for name, expected in (("reader", 1), ("quiet", 1), ("muted", 0), ("capped", 0)):
        assert len(this_rules(name)) == expected, name
    [message] = this_rules("reader")
    assert message["title"] == "养老金资格认证" and message["read_at"] is None
    assert message["why"]["text"] == "您已到领取养老金的年龄"
    assert set(message["why"]["tags"]) == {"age:60+", "region:530102"}
    read = client.post(f"{API}/me/messages/{message['id']}/read", headers=people["reader"])
    assert read.status_code == 200 and read.get_json()["read_at"] is not None
    home = client.get(f"{API}/home", headers=people["reader"]).get_json()
    assert home["unread_messages"] == 0
    assert client.get(f"{rule_url}/stats", headers=checker).get_json()["read"] == 1

    # The kill switch: the run is withdrawn from every inbox.
    stopped = client.post(f"{rule_url}/stop", headers=checker)
    assert stopped.status_code == 200 and stopped.get_json()["status"] == "stopped"
    forget_live_runs()
    assert this_rules("quiet") == [] and this_rules("reader") == []
    assert client.get(f"{rule_url}/stats", headers=checker).get_json()["stopped_runs"] == 1
