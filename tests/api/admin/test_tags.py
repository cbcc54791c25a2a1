"""Profile tags for admins over HTTP: definitions, members by ids and by CSV with a report row
by row, the audience preview (masked, without sensitive tags, following preferences at once),
disputes, and the audit log of every change."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry
from app.platform.clock import today_in_china
from app.push.computed import refresh_users
from app.push.tags import dispute
from tests.factories import auth_headers, create_admin, create_user
from tests.personal_numbers import new_id_number

ELDERS = "region:5301 AND age:60+ AND NOT optout:pension"


@pytest.fixture
def push_admin(app_context):
    return create_admin(username="pusher", roles=("push_admin",))


@pytest.fixture
def admin(push_admin):
    return auth_headers(push_admin)


def person(*, name: str = "张秀英", region: str = "530102", born: int = 1950):
    """A verified user of that region and birth year, with their computed tags."""
    user = create_user(name=name, id_number=new_id_number(region_code=region, birth_year=born))
    refresh_users([user.id])
    return user


def preview(client, headers, audience: str):
    return client.post("/api/v1/admin/audiences/preview", headers=headers,
                       json={"audience": audience})


def size(client, headers, audience: str) -> int:
    response = preview(client, headers, audience)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["audience_size"]


def define(client, headers, name: str = "life:newborn", **fields):
    return client.post("/api/v1/admin/tags", headers=headers,
                       json={"name": name, "kind": "manual", **fields})


def add(client, headers, name: str, user_ids: list, **fields):
    return client.post(f"/api/v1/admin/tags/{name}/members", headers=headers,
                       json={"user_ids": [str(i) for i in user_ids], **fields})


def upload(client, headers, name: str, content: str):
    return client.post(f"/api/v1/admin/tags/{name}/members", headers=headers,
                       data={"file": (io.BytesIO(content.encode()), "members.csv")},
                       content_type="multipart/form-data")


def test_an_admin_defines_lists_edits_and_retires_a_manual_tag(client, admin):
    created = define(client, admin, description="家中有新生儿")
    assert created.status_code == 201, created.get_json()
    assert created.get_json() | {"created_at": None, "updated_at": None} == {
        "name": "life:newborn", "kind": "manual", "description": "家中有新生儿",
        "sensitive": False, "retired_at": None, "created_at": None, "updated_at": None}
    listed = client.get("/api/v1/admin/tags", headers=admin).get_json()["items"]
    kinds = {tag["name"]: tag["kind"] for tag in listed}
    assert kinds["life:newborn"] == "manual"
    assert {kinds[family] for family in ("region", "age", "optout")} == {"computed"}
    edited = client.patch("/api/v1/admin/tags/life:newborn", headers=admin,
                          json={"description": "新生儿家庭", "sensitive": True})
    assert (edited.get_json()["description"], edited.get_json()["sensitive"]) == (
        "新生儿家庭", True)
    assert client.get("/api/v1/admin/tags/life:newborn",
                      headers=admin).get_json()["description"] == "新生儿家庭"


def test_retiring_a_tag_takes_its_members_out_of_every_audience(client, admin):
    mother = person(name="李娜", born=1995)
    define(client, admin)
    add(client, admin, "life:newborn", [mother.id])
    assert size(client, admin, "life:newborn") == 1
    retired = client.patch("/api/v1/admin/tags/life:newborn", headers=admin,
                           json={"retired": True})
    assert retired.status_code == 200 and retired.get_json()["retired_at"]
    assert size(client, admin, "life:newborn") == 0
    again = client.patch("/api/v1/admin/tags/life:newborn", headers=admin,
                         json={"description": "x"})
    assert (again.status_code, again.get_json()["error"]) == (409, "tag_retired")
    assert add(client, admin, "life:newborn", [mother.id]).status_code == 409


def test_un_retiring_is_not_an_edit(client, admin):
    define(client, admin)
    response = client.patch("/api/v1/admin/tags/life:newborn", headers=admin,
                            json={"retired": False})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"retired"}


def test_computed_tags_are_read_only(client, admin):
    user = person()
    edited = client.patch("/api/v1/admin/tags/region", headers=admin, json={"description": "x"})
    assert (edited.status_code, edited.get_json()["error"]) == (409, "tag_read_only")
    for name in ("region", "age:60+"):
        assert add(client, admin, name, [user.id]).status_code in (404, 409)
    assert add(client, admin, "region", [user.id]).get_json()["error"] == "tag_read_only"
    made = define(client, admin, "life:elder", kind="computed")
    assert (made.status_code, set(made.get_json()["errors"])) == (422, {"kind"})


@pytest.mark.parametrize("name", [
    "region:custom",          # a computed family's namespace
    "optout:pension",
    "vip:13900000000",        # looks like a mobile number
    "card:00000000000000",    # any run of 11 digits or more
    "newborn",                # no namespace
    "Life:newborn",
    "life:new born",
    "life:" + "x" * 60,
])
def test_reserved_namespaces_personal_numbers_and_malformed_names_are_refused(client, admin,
                                                                             name):
    response = define(client, admin, name)
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["errors"]) == {"name"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_a_name_is_defined_once(client, admin):
    define(client, admin)
    again = define(client, admin)
    assert (again.status_code, again.get_json()["error"]) == (409, "tag_exists")


def test_members_by_ids_report_each_id_that_cannot_be_added(client, admin):
    first, second = person(name="李娜", born=1995), person(name="王芳", born=1992)
    define(client, admin)
    response = client.post("/api/v1/admin/tags/life:newborn/members", headers=admin, json={
        "user_ids": [str(first.id), "abc", str(first.id), "987654321", str(second.id), "０1"],
        "expires_on": (today_in_china() + timedelta(days=30)).isoformat()})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"added": 2, "rejected": [
        {"row": 2, "reason": "不是有效的用户编号"}, {"row": 3, "reason": "与前面的行重复"},
        {"row": 4, "reason": "用户不存在"}, {"row": 6, "reason": "不是有效的用户编号"}]}
    assert size(client, admin, "life:newborn") == 2
    assert add(client, admin, "life:newborn", [first.id]).get_json() == {"added": 0,
                                                                         "rejected": []}


@pytest.mark.parametrize(("expires_on", "status"), [
    ("2000-01-01", 422), ("2026-02-30", 422), ("tomorrow", 422)])
def test_an_expiry_in_the_past_or_not_a_date_is_refused(client, admin, expires_on, status):
    user = person()
    define(client, admin)
    response = add(client, admin, "life:newborn", [user.id], expires_on=expires_on)
    assert response.status_code == status
    assert set(response.get_json()["errors"]) == {"expires_on"}
    assert size(client, admin, "life:newborn") == 0


def test_members_by_csv_are_reported_row_by_row(client, admin):
    users = [person(name=name, born=1990 + n) for n, name in enumerate(("李娜", "王芳", "赵强"))]
    define(client, admin)
    later = (today_in_china() + timedelta(days=10)).isoformat()
    rows = ["user_id,expires_on",            # 1: the header
            f"{users[0].id},",               # 2
            "12ab,",                         # 3: not an id
            "987654321",                     # 4: nobody
            f"{users[0].id},{later}",        # 5: again
            f"{users[1].id},2020-01-01",     # 6: already past
            f"{users[2].id},31/12/2030",     # 7: not a date
            "",                              # 8: blank, skipped
            f"{users[2].id},{later}"]        # 9
    response = upload(client, admin, "life:newborn", "\n".join(rows) + "\n")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"added": 2, "rejected": [
        {"row": 3, "reason": "不是有效的用户编号"}, {"row": 4, "reason": "用户不存在"},
        {"row": 5, "reason": "与前面的行重复"}, {"row": 6, "reason": "到期日期已过"},
        {"row": 7, "reason": "到期日期格式应为 YYYY-MM-DD"}]}
    assert size(client, admin, "life:newborn") == 2


def test_a_csv_that_is_not_utf8_or_not_sent_is_refused_naming_the_file(client, admin):
    define(client, admin)
    response = client.post("/api/v1/admin/tags/life:newborn/members", headers=admin,
                           data={"file": (io.BytesIO("编号\n".encode("gbk")), "m.csv")},
                           content_type="multipart/form-data")
    assert (response.status_code, set(response.get_json()["errors"])) == (422, {"file"})
    missing = client.post("/api/v1/admin/tags/life:newborn/members", headers=admin,
                          data={"other": "x"}, content_type="multipart/form-data")
    assert (missing.status_code, set(missing.get_json()["errors"])) == (422, {"file"})
    empty = client.post("/api/v1/admin/tags/life:newborn/members", headers=admin)
    assert empty.status_code == 422


def test_a_csv_may_be_larger_than_a_json_body_up_to_its_own_limit(client, admin, app):
    user = person()
    define(client, admin)
    padding = ",," + "备注" * 40  # a third column, ignored
    content = f"{user.id}{padding}\n" * 2 + f"987654321{padding}\n" * 6000
    assert len(content.encode()) > app.config["MAX_CONTENT_LENGTH"]
    response = upload(client, admin, "life:newborn", content)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["added"] == 1 and len(response.get_json()["rejected"]) == 6001
    too_large = upload(client, admin, "life:newborn", "1\n" * 3_000_000)
    assert (too_large.status_code, too_large.get_json()["error"]) == (413, "payload_too_large")


def test_removing_members_takes_them_out_of_the_audience(client, admin):
    first, second = person(name="李娜", born=1995), person(name="王芳", born=1992)
    define(client, admin)
    add(client, admin, "life:newborn", [first.id, second.id])
    removed = client.post("/api/v1/admin/tags/life:newborn/members/remove", headers=admin,
                          json={"user_ids": [str(first.id), "987654321"]})
    assert removed.get_json() == {"removed": 1}
    assert size(client, admin, "life:newborn") == 1
    bad = client.post("/api/v1/admin/tags/life:newborn/members/remove", headers=admin,
                      json={"user_ids": ["abc"]})
    assert (bad.status_code, set(bad.get_json()["errors"])) == (422, {"user_ids"})


def test_an_elder_who_mutes_pensions_leaves_the_audience_at_once(client, admin):
    elder = person(name="张秀英", region="530102", born=today_in_china().year - 70)
    person(name="李娜", region="530102", born=1995)      # too young
    person(name="赵强", region="530302", born=1950)      # another prefecture
    first = preview(client, admin, ELDERS)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["audience_size"] == 1
    assert body["audience"] == "NOT optout:pension AND age:60+ AND region:5301"  # canonical
    assert body["sample"] == [{"user_id": str(elder.id), "name_masked": "张**",
                               "matched_tags": ["age:60+", "region:530102"]}]
    assert "张秀英" not in first.get_data(as_text=True)
    assert body["evaluated_in_ms"] >= 0
    muted = client.put("/api/v1/me/push-preferences", headers=auth_headers(elder), json={
        "muted_categories": ["pension"], "quiet_hours": None, "wechat_enabled": True})
    assert muted.status_code == 200, muted.get_json()
    again = preview(client, admin, ELDERS).get_json()
    assert (again["audience_size"], again["sample"]) == (0, [])


@pytest.mark.parametrize(("audience", "offset"), [
    ("region:5301 AND (age:60+", 16), ("region:5301 AND", 15), ("age:60+ OR OR x:y", 11),
    ("Region:5301", 0)])
def test_a_malformed_expression_answers_422_with_the_offset(client, admin, audience, offset):
    response = preview(client, admin, audience)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation_error"
    assert list(body["errors"]) == ["audience"]
    assert body["errors"]["audience"][0].startswith(f"offset {offset}: ")


def test_an_expression_over_2000_characters_is_refused_by_the_schema(client, admin):
    response = preview(client, admin, " OR ".join(["region:530102"] * 200))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["audience"]


def test_sensitive_tags_never_show_in_a_previews_matched_tags(client, admin):
    user = person(name="王芳", born=1950)
    define(client, admin, "health:chronic", sensitive=True)
    add(client, admin, "health:chronic", [user.id])
    body = preview(client, admin, "health:chronic OR age:60+").get_json()
    assert body["audience_size"] == 1
    assert body["sample"][0]["matched_tags"] == ["age:60+"]


def test_an_admin_upholds_one_dispute_and_removes_another(client, admin):
    first, second = person(name="李娜", born=1995), person(name="王芳", born=1992)
    define(client, admin)
    add(client, admin, "life:newborn", [first.id, second.id])
    ids = [dispute(user, "life:newborn", "孩子已满三周岁").id for user in (first, second)]
    db.session.commit()
    assert size(client, admin, "life:newborn") == 0
    listed = client.get("/api/v1/admin/tag-disputes?per_page=1", headers=admin).get_json()
    assert (listed["total"], listed["per_page"], len(listed["items"])) == (2, 1, 1)
    assert listed["items"][0] | {"created_at": None} == {
        "id": str(ids[0]), "user_id": str(first.id), "tag": "life:newborn",
        "reason": "孩子已满三周岁", "status": "open", "created_at": None,
        "resolved_at": None, "resolution_note": ""}
    upheld = client.post(f"/api/v1/admin/tag-disputes/{ids[0]}/resolve", headers=admin,
                         json={"outcome": "upheld", "note": "经核实属实"})
    assert upheld.status_code == 200, upheld.get_json()
    assert (upheld.get_json()["status"], upheld.get_json()["resolution_note"]) == (
        "upheld", "经核实属实")
    removed = client.post(f"/api/v1/admin/tag-disputes/{ids[1]}/resolve", headers=admin,
                          json={"outcome": "removed"})
    assert removed.get_json()["status"] == "removed"
    body = preview(client, admin, "life:newborn").get_json()
    assert [s["user_id"] for s in body["sample"]] == [str(first.id)]
    again = client.post(f"/api/v1/admin/tag-disputes/{ids[1]}/resolve", headers=admin,
                        json={"outcome": "upheld"})
    assert (again.status_code, again.get_json()["error"]) == (409, "dispute_resolved")
    assert client.get("/api/v1/admin/tag-disputes", headers=admin).get_json()["total"] == 0
    unknown = client.post("/api/v1/admin/tag-disputes/987654/resolve", headers=admin,
                          json={"outcome": "upheld"})
    assert unknown.status_code == 404
    wrong = client.post(f"/api/v1/admin/tag-disputes/{ids[0]}/resolve", headers=admin,
                        json={"outcome": "maybe"})
    assert (wrong.status_code, set(wrong.get_json()["errors"])) == (422, {"outcome"})


def test_every_admin_change_is_in_the_audit_log(client, admin, push_admin):
    first, second = person(name="李娜", born=1995), person(name="王芳", born=1992)
    define(client, admin)
    client.patch("/api/v1/admin/tags/life:newborn", headers=admin, json={"description": "新"})
    add(client, admin, "life:newborn", [first.id, second.id])
    upload(client, admin, "life:newborn", f"{first.id}\n")
    client.post("/api/v1/admin/tags/life:newborn/members/remove", headers=admin,
                json={"user_ids": [str(second.id)]})
    record = dispute(first, "life:newborn", "不符合")
    db.session.commit()
    client.post(f"/api/v1/admin/tag-disputes/{record.id}/resolve", headers=admin,
                json={"outcome": "upheld"})
    client.patch("/api/v1/admin/tags/life:newborn", headers=admin, json={"retired": True})
    auditor = auth_headers(create_admin(username="auditor", roles=("auditor",)))
    items = client.get("/api/v1/admin/audit-log?per_page=100", headers=auditor).get_json()["items"]
    tag_actions = [(e["action"], e["actor_name"]) for e in reversed(items)
                   if e["action"].startswith("tag.")]
    assert tag_actions == [(action, "pusher") for action in (
        "tag.create", "tag.update", "tag.members_add", "tag.members_add",
        "tag.members_remove", "tag.dispute_resolve", "tag.retire")]
    retired = next(e for e in items if e["action"] == "tag.retire")
    assert retired["details"]["members_removed"] == 1
    assert retired["target_id"] == "life:newborn"


def test_approvers_read_and_preview_but_do_not_write(client, app_context):
    approver = auth_headers(create_admin(username="approver", roles=("push_approver",)))
    assert client.get("/api/v1/admin/tags", headers=approver).status_code == 200
    assert preview(client, approver, "age:60+").status_code == 200
    refused = define(client, approver)
    assert (refused.status_code, refused.get_json()["error"]) == (403, "forbidden")
