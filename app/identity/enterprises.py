"""Binding users to enterprises, delegating agents, and checking what an agent may reach."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import Enterprise, EnterpriseBinding, User
from app.models.enterprise import AGENT_SCOPES
from app.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.platform.events import emit
from app.platform.orm import parse_row_id, utcnow
from app.privacy.identifiers import InvalidIdentifier, parse_uscc


def check_uscc(value: str) -> str:
    try:
        return parse_uscc(value)
    except InvalidIdentifier as exc:
        raise InvalidInput("uscc", exc.message) from None


def find_enterprise(uscc: str) -> Enterprise:
    enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.uscc == check_uscc(uscc)))
    if enterprise is None:
        raise NotFound("未找到该统一社会信用代码对应的企业",
                       errors={"uscc": ["企业登记信息中不存在"]})
    return enterprise


def binding_of(user: User, enterprise: Enterprise) -> EnterpriseBinding | None:
    return db.session.scalar(sa.select(EnterpriseBinding).where(
        EnterpriseBinding.user_id == user.id, EnterpriseBinding.enterprise_id == enterprise.id))


def bind(user: User, uscc: str, relation: str) -> EnterpriseBinding:
    """Bind the caller: a legal representative whose proven ID matches is `verified` at once;
    anyone else waits as `pending` (an agent becomes verified when the representative adds them)."""
    enterprise = find_enterprise(uscc)
    binding = binding_of(user, enterprise)
    if binding is not None and binding.status == "verified":
        return binding
    # Only a real name WeChat proved sets the ID number, so a claimed number never matches.
    matches = (relation == "legal_representative" and user.real_name_verified
               and user.id_number_index is not None
               and user.id_number_index == enterprise.legal_rep_id_index)
    if binding is None:
        binding = EnterpriseBinding(user_id=user.id, enterprise=enterprise)
        db.session.add(binding)
    binding.relation = relation
    binding.status = "verified" if matches else "pending"
    emit("user.bindings_changed", user_id=user.id)
    return binding


def unbind(user: User, uscc: str) -> None:
    binding = binding_of(user, find_enterprise(uscc))
    if binding is None:
        raise NotFound("未绑定该企业")
    db.session.delete(binding)
    emit("user.bindings_changed", user_id=user.id)


def _legal_rep_binding(user: User, enterprise: Enterprise) -> EnterpriseBinding:
    binding = binding_of(user, enterprise)
    if (binding is None or binding.relation != "legal_representative"
            or binding.status != "verified"):
        raise Forbidden("只有已认证的法定代表人可以管理经办人")
    return binding


def _find_user(user_id: str | None, invite_code: str | None) -> User:
    if user_id:
        row_id = parse_row_id(user_id)
        agent = db.session.get(User, row_id) if row_id is not None else None
        field = "user_id"
    else:
        agent = db.session.scalar(sa.select(User).where(User.invite_code == invite_code))
        field = "invite_code"
    if agent is None:
        raise NotFound("未找到该用户", errors={field: ["用户不存在"]})
    return agent


def delegate_agent(legal_rep: User, uscc: str, *, user_id: str | None, invite_code: str | None,
                   scopes: list[str], expires_at: datetime | None) -> EnterpriseBinding:
    """The legal representative lets another user act for the enterprise within `scopes`."""
    enterprise = find_enterprise(uscc)
    _legal_rep_binding(legal_rep, enterprise)
    agent = _find_user(user_id, invite_code)
    if agent.id == legal_rep.id:
        raise InvalidInput("user_id", "不能将自己设为经办人", ["不能是本人"])
    if not agent.real_name_verified:
        raise InvalidInput("user_id", "经办人须先完成实名认证", ["未实名"])
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("expires_at", "授权截止时间须晚于当前时间", ["已过去"])
    binding = binding_of(agent, enterprise)
    if binding is None:
        binding = EnterpriseBinding(user_id=agent.id, enterprise=enterprise)
        db.session.add(binding)
    elif binding.relation == "legal_representative" and binding.status == "verified":
        raise Conflict("该用户是法定代表人", errors={"user_id": ["法定代表人"]})
    binding.relation, binding.status = "agent", "verified"
    binding.scopes = ",".join(s for s in AGENT_SCOPES if s in scopes)
    binding.expires_at = expires_at
    binding.granted_by_user_id = legal_rep.id
    emit("user.bindings_changed", user_id=agent.id)
    return binding


def revoke_agent(legal_rep: User, uscc: str, agent_user_id: int) -> None:
    enterprise = find_enterprise(uscc)
    _legal_rep_binding(legal_rep, enterprise)
    binding = db.session.scalar(sa.select(EnterpriseBinding).where(
        EnterpriseBinding.enterprise_id == enterprise.id,
        EnterpriseBinding.user_id == agent_user_id, EnterpriseBinding.relation == "agent"))
    if binding is None:
        raise NotFound("该用户不是本企业的经办人")
    db.session.delete(binding)
    emit("user.bindings_changed", user_id=agent_user_id)


def agents_of(legal_rep: User, uscc: str) -> list[EnterpriseBinding]:
    enterprise = find_enterprise(uscc)
    _legal_rep_binding(legal_rep, enterprise)
    return list(db.session.scalars(sa.select(EnterpriseBinding).where(
        EnterpriseBinding.enterprise_id == enterprise.id,
        EnterpriseBinding.relation == "agent").order_by(EnterpriseBinding.id)))


def bindings_of(user: User) -> list[EnterpriseBinding]:
    return list(db.session.scalars(sa.select(EnterpriseBinding).where(
        EnterpriseBinding.user_id == user.id).order_by(EnterpriseBinding.id)))


def is_active(binding: EnterpriseBinding, scope: str | None = None) -> bool:
    """Whether a binding reaches the enterprise now (and, for an agent, within `scope`)."""
    if binding.status != "verified":
        return False
    if binding.relation == "legal_representative":
        return True
    if binding.expires_at is not None and binding.expires_at <= utcnow():
        return False
    return scope is None or scope in binding.scope_list


def enterprises_reachable(user: User, scope: str) -> list[Enterprise]:
    """The enterprises whose `scope` (cases, certificates) the user may see now."""
    return [b.enterprise for b in bindings_of(user) if is_active(b, scope)]


def require_enterprise_access(user: User, uscc: str, scope: str) -> Enterprise:
    """The enterprise, if the user reaches it within `scope`; else 403."""
    enterprise = find_enterprise(uscc)
    binding = binding_of(user, enterprise)
    if binding is None or not is_active(binding, scope):
        raise Forbidden("无权查看该企业的信息")
    return enterprise
