"""The caller's enterprises: binding, unbinding, and delegating agents."""

from __future__ import annotations

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.docs import ErrorSchema
from app.api.me import EnterpriseBindingSchema
from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema
from app.api.validators import ROW_ID, USCC
from app.extensions import db
from app.identity.enterprises import (
    agents_of,
    bind,
    check_uscc,
    delegate_agent,
    revoke_agent,
    unbind,
)
from app.identity.profile import agent_views, binding_view
from app.models.enterprise import AGENT_SCOPES, RELATIONS

blp = Blueprint("enterprises", __name__, url_prefix="/api/v1/me/enterprises",
                description="Enterprise bindings and agents")


class BindEnterpriseSchema(RequestSchema):
    uscc = ma.fields.String(required=True, validate=USCC)
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=128),
                            metadata={"example": "云南示例科技有限公司"})
    relation = ma.fields.String(required=True, validate=ma.validate.OneOf(RELATIONS))


class AgentGrantSchema(RequestSchema):
    """Names the agent by `user_id` or by the `invite_code` from their profile: one of the two."""

    user_id = ma.fields.String(validate=ROW_ID)
    invite_code = ma.fields.String(validate=ma.validate.Length(equal=8))
    scopes = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(AGENT_SCOPES)),
                            required=True, validate=ma.validate.Length(min=1))
    expires_at = ma.fields.AwareDateTime(load_default=None, allow_none=True,
                                         metadata={"description": "end of the delegation"})

    @ma.validates_schema
    def one_way_to_name_the_agent(self, data: dict, **kwargs) -> None:
        if bool(data.get("user_id")) == bool(data.get("invite_code")):
            raise ma.ValidationError("user_id 与 invite_code 须填且只填一项", "user_id")


class AgentSchema(ma.Schema):
    user_id = ma.fields.String()
    name_masked = ma.fields.String(allow_none=True)
    scopes = ma.fields.List(ma.fields.String())
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    active = ma.fields.Boolean()


class AgentListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AgentSchema))


@blp.post("")
@user_required
@blp.arguments(BindEnterpriseSchema())
@blp.response(201, EnterpriseBindingSchema)
@blp.alt_response(404, schema=ErrorSchema,
                  description="no enterprise is registered under the credit code")
def post_enterprise(body: dict) -> dict:
    """Bind the caller to an enterprise as its legal representative or an agent."""
    binding = bind(current_user, check_uscc(body["uscc"]), body["relation"])
    db.session.commit()
    return binding_view(binding)


@blp.delete("/<uscc:uscc>")
@user_required
@blp.response(204)
@blp.alt_response(422, schema=ErrorSchema, description="the credit code's check character is wrong")
def delete_enterprise(uscc: str) -> None:
    """Unbind the caller from an enterprise."""
    unbind(current_user, uscc)
    db.session.commit()


@blp.get("/<uscc:uscc>/agents")
@user_required
@blp.response(200, AgentListSchema)
@blp.alt_response(422, schema=ErrorSchema, description="the credit code's check character is wrong")
def get_agents(uscc: str) -> dict:
    """The enterprise's agents (legal representative only)."""
    return {"items": agent_views(agents_of(current_user, uscc))}


@blp.post("/<uscc:uscc>/agents")
@user_required
@blp.arguments(AgentGrantSchema())
@blp.response(201, AgentSchema)
@blp.alt_response(409, schema=ErrorSchema,
                  description="the user is the enterprise's legal representative")
def post_agent(body: dict, uscc: str) -> dict:
    """Delegate a user as the enterprise's agent, within scopes and until an expiry."""
    binding = delegate_agent(current_user, uscc, user_id=body.get("user_id"),
                             invite_code=body.get("invite_code"), scopes=body["scopes"],
                             expires_at=body.get("expires_at"))
    db.session.commit()
    return agent_views([binding])[0]


@blp.delete("/<uscc:uscc>/agents/<id:user_id>")
@user_required
@blp.response(204)
@blp.alt_response(422, schema=ErrorSchema, description="the credit code's check character is wrong")
def delete_agent(uscc: str, user_id: int) -> None:
    """Revoke an agent's delegation."""
    revoke_agent(current_user, uscc, user_id)
    db.session.commit()
