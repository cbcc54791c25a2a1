"""Tag definitions, manual membership (a list of ids or a CSV, checked row by row), what a person
sees of their own tags, and disputes.

Computed tags belong to families the system defines (`region`, `age`, `cert`, …): a family's
definition is named by its namespace, covers every tag under it, and is read-only. Admins
define manual tags (`life:newborn`) outside those namespaces and add people to them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import AdminAccount, User
from app.models.tag import TagDefinition, TagDispute, TagMembership
from app.platform import audit
from app.platform.clock import CHINA_TZ
from app.platform.errors import Conflict, InvalidInput, NotFound
from app.platform.orm import utcnow
from app.platform.pages import paginate
from app.push import memberships
from app.push.expressions import is_tag_name

# The families the system computes, by namespace, with what they mean.
COMPUTED_FAMILIES = {
    "user": "用户属性：user:registered 已注册，user:real_name 已实名，user:enterprise 企业用户，"
            "user:legal_rep 法定代表人，user:agent 企业经办人",
    "region": "所在地区，按行政区划代码：region:5301 含其下所有区县",
    "age": "年龄段：age:0-17、age:18-34、age:35-59、age:60+",
    "gender": "性别：gender:f 女，gender:m 男",
    "cert": "持有的有效电子证照：cert:<证照类型>；30 天内到期另有 cert:<证照类型>:expiring_30d",
    "case": "本人办件的最新状态：case:<事项编码>:<状态>",
    "industry": "所绑定企业的行业：industry:<行业代码>",
    "optout": "本人关闭的推送类别：optout:<类别>",
}
MAX_UPLOAD_ROWS = 100_000
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ID_LIST = 10_000


@dataclass(frozen=True)
class UploadReport:
    added: int
    rejected: list[dict[str, Any]]


def family_of(tag: str) -> str:
    return tag.split(":", 1)[0]


def ensure_computed_definitions() -> None:
    """Give every computed family its (read-only) definition row (the demo seed does)."""
    present = set(db.session.scalars(sa.select(TagDefinition.name).where(
        TagDefinition.name.in_(list(COMPUTED_FAMILIES)))))
    for name, description in COMPUTED_FAMILIES.items():
        if name not in present:
            db.session.add(TagDefinition(name=name, kind="computed", description=description))
    if len(present) < len(COMPUTED_FAMILIES):
        db.session.flush()


def _family(name: str) -> TagDefinition:
    """A computed family as the system defines it, for one that has no row: a read does not
    write it (the demo seed does, and nothing depends on the row)."""
    now = utcnow()
    return TagDefinition(name=name, kind="computed", description=COMPUTED_FAMILIES[name],
                         sensitive=False, created_at=now, updated_at=now)


def definitions() -> list[TagDefinition]:
    stored = list(db.session.scalars(sa.select(TagDefinition)))
    names = {tag.name for tag in stored}
    stored += [_family(name) for name in COMPUTED_FAMILIES if name not in names]
    return sorted(stored, key=lambda tag: (tag.kind, tag.name))


def definition(name: str) -> TagDefinition:
    found = db.session.scalar(sa.select(TagDefinition).where(TagDefinition.name == name))
    if found is None and name in COMPUTED_FAMILIES:
        return _family(name)
    if found is None:
        raise NotFound("标签不存在", errors={"name": ["not found"]})
    return found


def create(admin: AdminAccount, *, name: str, kind: str, description: str = "",
           sensitive: bool = False) -> TagDefinition:
    """Define a manual tag (computed ones are the system's)."""
    if kind != "manual":
        raise InvalidInput("kind", "计算标签由系统根据用户数据生成，不能手工创建",
                           ["only manual tags can be created"])
    if not is_tag_name(name) or ":" not in name:
        raise InvalidInput("name", "标签名称格式应为「命名空间:名称」，如 life:newborn",
                           ["expected namespace:name"])
    if re.search(r"\d{11}", name):
        raise InvalidInput("name", "标签名称不能包含证件号、手机号等个人号码",
                           ["no personal numbers in tag names"])
    if family_of(name) in COMPUTED_FAMILIES:
        raise InvalidInput("name", f"「{family_of(name)}」是系统计算标签的命名空间",
                           ["reserved namespace"])
    if db.session.scalar(sa.select(TagDefinition.id).where(TagDefinition.name == name)):
        raise Conflict("同名标签已存在", error="tag_exists", errors={"name": ["exists"]})
    tag = TagDefinition(name=name, kind="manual", description=description,
                        sensitive=sensitive)
    db.session.add(tag)
    db.session.flush()
    audit.record("tag.create", actor=admin, target_type="tag", target_id=name,
                 details={"kind": kind, "sensitive": sensitive})
    return tag


def edit(admin: AdminAccount, tag: TagDefinition, changes: dict[str, Any]) -> TagDefinition:
    """Change a manual tag's description or sensitivity, or retire it (its members leave)."""
    if tag.kind == "computed":
        raise Conflict("计算标签由系统维护，不能修改", error="tag_read_only",
                       errors={"name": ["computed tags are read-only"]})
    if tag.retired_at is not None:
        raise Conflict("标签已停用", error="tag_retired", errors={"name": ["retired"]})
    before = {"description": tag.description, "sensitive": tag.sensitive}
    for key in ("description", "sensitive"):
        if key in changes:
            setattr(tag, key, changes[key])
    removed = 0
    if changes.get("retired"):
        tag.retired_at = utcnow()
        removed = memberships.revoke_all(tag.name)
    audit.record("tag.retire" if changes.get("retired") else "tag.update", actor=admin,
                 target_type="tag", target_id=tag.name,
                 details={"before": before, "changes": changes, "members_removed": removed})
    return tag


def _manual_target(name: str) -> TagDefinition:
    tag = definition(name)
    if tag.kind != "manual":
        raise Conflict("计算标签的成员由系统计算，不能手工添加", error="tag_read_only",
                       errors={"name": ["computed tags are read-only"]})
    if tag.retired_at is not None:
        raise Conflict("标签已停用", error="tag_retired", errors={"name": ["retired"]})
    return tag


def add_members(admin: AdminAccount, name: str, user_ids: Sequence[int | str],
                expires_at: datetime | None = None) -> UploadReport:
    """Add people by id; ids of nobody are reported, not fatal."""
    tag = _manual_target(name)
    if len(user_ids) > MAX_ID_LIST:
        raise InvalidInput("user_ids", f"一次最多添加 {MAX_ID_LIST} 人，更多请上传 CSV",
                           [f"at most {MAX_ID_LIST}"])
    rows = [(n, str(user_id), expires_at) for n, user_id in enumerate(user_ids, start=1)]
    return _add(admin, tag, rows, "manual")


def add_members_csv(admin: AdminAccount, name: str, content: bytes) -> UploadReport:
    """Add people from a CSV: `user_id` and optionally `expires_on` (YYYY-MM-DD, China date),
    with or without a header; each bad row is reported with its number and why."""
    tag = _manual_target(name)
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInput("file", "文件不能超过 5 MB", ["at most 5 MB"])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("file", "文件应为 UTF-8 编码的 CSV", ["not UTF-8"]) from None
    rows: list[tuple[int, str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for number, fields in _csv_rows(text):
        if number > MAX_UPLOAD_ROWS + 1:
            raise InvalidInput("file", f"一次最多上传 {MAX_UPLOAD_ROWS} 行",
                               [f"at most {MAX_UPLOAD_ROWS} rows"])
        if not fields or not "".join(fields).strip():
            continue
        if number == 1 and fields[0].strip().lower() == "user_id":
            continue  # the header
        expiry: Any = None
        if len(fields) > 1 and fields[1].strip():
            expiry = expiry_of(fields[1].strip())
            if isinstance(expiry, str):
                rejected.append({"row": number, "reason": expiry})
                continue
        rows.append((number, fields[0].strip(), expiry))
    report = _add(admin, tag, rows, "upload")
    return UploadReport(report.added, sorted([*rejected, *report.rejected],
                                             key=lambda r: r["row"]))


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """The CSV's rows with their numbers; a file the reader cannot read is named, not a 500."""
    reader = csv.reader(io.StringIO(text))
    try:
        yield from enumerate(reader, start=1)
    except csv.Error:  # a field over the reader's size limit
        raise InvalidInput("file", f"CSV 第 {reader.line_num} 行无法读取",
                           [f"row {reader.line_num}: unreadable"]) from None


def expiry_of(text: str) -> datetime | str:
    """The end of the China day `text` (YYYY-MM-DD) names, or why it cannot be an expiry."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return "到期日期格式应为 YYYY-MM-DD"
    # The end of that China day.
    at = datetime.combine(day, time(23, 59, 59), tzinfo=CHINA_TZ)
    return at if at > utcnow() else "到期日期已过"


def _add(admin: AdminAccount, tag: TagDefinition, rows: list[tuple[int, str, Any]],
         source: str) -> UploadReport:
    rejected: list[dict[str, Any]] = []
    wanted: dict[int, tuple[int, Any]] = {}
    for number, text, expiry in rows:
        if not text.isascii() or not text.isdigit() or len(text) > 18 or int(text) < 1:
            rejected.append({"row": number, "reason": "不是有效的用户编号"})
        elif int(text) in wanted:
            rejected.append({"row": number, "reason": "与前面的行重复"})
        else:
            wanted[int(text)] = (number, expiry)
    known: set[int] = set()
    ids = list(wanted)
    for start in range(0, len(ids), memberships.CHUNK):
        known.update(db.session.scalars(sa.select(User.id).where(
            User.id.in_(ids[start:start + memberships.CHUNK]))))
    rejected += [{"row": number, "reason": "用户不存在"}
                 for user_id, (number, _) in wanted.items() if user_id not in known]
    added = 0
    by_expiry: dict[Any, list[int]] = {}
    for user_id, (_, expiry) in wanted.items():
        if user_id in known:
            by_expiry.setdefault(expiry, []).append(user_id)
    for expiry, group in by_expiry.items():
        added += memberships.grant_many(group, tag.name, source=source, expires_at=expiry,
                                        added_by=admin.id)
    audit.record("tag.members_add", actor=admin, target_type="tag", target_id=tag.name,
                 details={"source": source, "rows": len(rows), "added": added,
                          "rejected": len(rejected)})
    return UploadReport(added, sorted(rejected, key=lambda r: r["row"]))


def remove_members(admin: AdminAccount, name: str, user_ids: list[int]) -> int:
    tag = _manual_target(name)
    removed = sum(memberships.revoke(user_id, tag.name) for user_id in dict.fromkeys(user_ids))
    audit.record("tag.members_remove", actor=admin, target_type="tag", target_id=tag.name,
                 details={"requested": len(user_ids), "removed": removed})
    return removed


# -- what a person sees ------------------------------------------------------------------------

def tags_of(user: User) -> list[dict[str, Any]]:
    """Every tag the person carries, where it came from, since when, and any dispute."""
    rows = list(db.session.scalars(sa.select(TagMembership).where(
        TagMembership.user_id == user.id).order_by(TagMembership.tag)))
    names = {row.tag for row in rows} | {family_of(row.tag) for row in rows}
    defined = {d.name: d for d in db.session.scalars(sa.select(TagDefinition).where(
        TagDefinition.name.in_(names)))} if names else {}
    disputes = {d.tag: d for d in db.session.scalars(sa.select(TagDispute).where(
        TagDispute.user_id == user.id).order_by(TagDispute.id))}
    views = []
    for row in rows:
        meaning = defined.get(row.tag) or defined.get(family_of(row.tag))
        dispute = disputes.get(row.tag)
        views.append({
            # A family's row is written on an admin's first write: its meaning is known before.
            "tag": row.tag, "description": meaning.description if meaning
            else COMPUTED_FAMILIES.get(family_of(row.tag), ""),
            "source": row.source, "since": row.since, "expires_at": row.expires_at,
            "sensitive": bool(meaning and meaning.sensitive),
            "disputable": row.source != "computed" and dispute is None,
            "dispute": None if dispute is None else {
                "id": str(dispute.id), "status": dispute.status,
                "created_at": dispute.created_at, "resolved_at": dispute.resolved_at,
                "resolution_note": dispute.resolution_note},
        })
    return views


def dispute(user: User, tag: str, reason: str) -> TagDispute:
    """The person says a manual tag is wrong about them: it stops counting for them until an
    admin decides. One dispute per tag and person."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", "请填写异议理由")
    membership = db.session.scalar(sa.select(TagMembership).where(
        TagMembership.user_id == user.id, TagMembership.tag == tag).with_for_update())
    if membership is None:
        raise NotFound("你没有这个标签", errors={"tag": ["not carried"]})
    if membership.source == "computed":
        raise Conflict("该标签由你的办事数据计算得出，如有误请更正相关信息", error="tag_computed",
                       errors={"tag": ["computed from your own data"]})
    if db.session.scalar(sa.select(TagDispute.id).where(TagDispute.user_id == user.id,
                                                        TagDispute.tag == tag)):
        raise Conflict("已对该标签提出过异议", error="dispute_exists",
                       errors={"tag": ["already disputed"]})
    memberships.set_disputed(membership, True)
    record = TagDispute(user_id=user.id, tag=tag, reason=reason)
    db.session.add(record)
    db.session.flush()
    return record


def open_disputes(page: int, per_page: int) -> Any:
    return paginate(sa.select(TagDispute).where(TagDispute.status == "open")
                    .order_by(TagDispute.id), page=page, per_page=per_page)


def resolve_dispute(admin: AdminAccount, dispute_id: int, outcome: str,
                    note: str = "") -> TagDispute:
    """`upheld`: the tag stands and counts again; `removed`: the person no longer carries it."""
    record = db.session.get(TagDispute, dispute_id, with_for_update=True)
    if record is None:
        raise NotFound("异议不存在", errors={"id": ["not found"]})
    if record.status != "open":
        raise Conflict("该异议已处理", error="dispute_resolved", errors={"id": ["resolved"]})
    membership = db.session.scalar(sa.select(TagMembership).where(
        TagMembership.user_id == record.user_id, TagMembership.tag == record.tag)
        .with_for_update())
    if membership is not None:
        if outcome == "upheld":
            memberships.set_disputed(membership, False)
        else:
            db.session.delete(membership)  # it left the index when it was disputed
    record.status, record.resolved_at = outcome, utcnow()
    record.resolved_by, record.resolution_note = admin.id, note
    audit.record("tag.dispute_resolve", actor=admin, target_type="tag_dispute",
                 target_id=record.id, details={"tag": record.tag, "outcome": outcome})
    return record
