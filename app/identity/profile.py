"""How users and their enterprise bindings are shown: personal data decrypted only to be masked."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.identity.enterprises import bindings_of, is_active
from app.models import EnterpriseBinding, User
from app.privacy.masking import mask_id_number, mask_name
from app.privacy.vault import vault


def _masked_name(user: User) -> str | None:
    name = vault().decrypt(user.real_name_enc, "user.real_name") if user.real_name_enc else None
    return mask_name(name) if name else None


def _masked_id_number(user: User) -> str | None:
    number = vault().decrypt(user.id_number_enc, "user.id_number") if user.id_number_enc else None
    return mask_id_number(number) if number else None


def binding_view(binding: EnterpriseBinding) -> dict[str, Any]:
    """A binding as its user sees it: the enterprise, the relation, whether it reaches it now."""
    return {"uscc": binding.enterprise.uscc, "name": binding.enterprise.name,
            "relation": binding.relation, "status": binding.status,
            "scopes": binding.scope_list if binding.relation == "agent" else [],
            "expires_at": binding.expires_at,
            "active": is_active(binding)}


def profile_of_me(user: User) -> dict[str, Any]:
    """The user as they may see themselves: personal data only masked, with their enterprises."""
    return {
        "id": str(user.id), "nickname": user.nickname,
        "real_name_verified": user.real_name_verified,
        "name_masked": _masked_name(user), "id_number_masked": _masked_id_number(user),
        "gender": user.gender, "region_code": user.region_code,
        "invite_code": user.invite_code, "roles": ["citizen"],
        "enterprises": [binding_view(b) for b in bindings_of(user)],
    }


def agent_views(bindings: list[EnterpriseBinding]) -> list[dict[str, Any]]:
    """Agents as their legal representative sees them: masked names, scopes, expiry, whether
    active."""
    agents = {u.id: u for u in db.session.scalars(
        sa.select(User).where(User.id.in_([b.user_id for b in bindings])))}
    return [{"user_id": str(binding.user_id), "name_masked": _masked_name(agents[binding.user_id]),
             "scopes": binding.scope_list, "expires_at": binding.expires_at,
             "active": is_active(binding)} for binding in bindings]
