"""Login, token refresh and logout, for mini program users and admin accounts."""

from __future__ import annotations

import marshmallow as ma
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request

from app.api.docs import ErrorSchema
from app.api.me import MeSchema
from app.api.rate_limits import limit_by_ip
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, RequestSchema
from app.extensions import db
from app.identity.admin_login import admin_login
from app.identity.profile import profile_of_me
from app.identity.sessions import log_out, refresh_session
from app.identity.wechat_login import login_with_code
from app.models import AdminAccount
from app.platform import audit

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Login and sessions")


class WeChatLoginSchema(RequestSchema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128),
                            metadata={"description": "the code from wx.login"})


class AdminLoginSchema(RequestSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, load_only=True,
                                validate=ma.validate.Length(min=1, max=256))


class TokenPairSchema(ma.Schema):
    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    token_type = ma.fields.Constant("Bearer")
    expires_at = LocalDateTime(metadata={"description": "when the access token expires"})


class UserLoginSchema(TokenPairSchema):
    user = ma.fields.Nested(MeSchema)
    created = ma.fields.Boolean(metadata={"description": "first login of this WeChat user"})


class AdminAccountSchema(ma.Schema):
    id = ma.fields.String()
    username = ma.fields.String()
    display_name = ma.fields.String()
    roles = ma.fields.List(ma.fields.String())
    institution_name = ma.fields.String(allow_none=True)


class AdminLoginResultSchema(TokenPairSchema):
    account = ma.fields.Nested(AdminAccountSchema)


class LogoutSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "logged_out"})


def _pair(pair) -> dict:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token,
            "expires_at": pair.expires_at}


@blp.post("/wechat-login")
@limit_by_ip("auth_wechat_login", limit=60, window_seconds=60)
@blp.arguments(WeChatLoginSchema())
@blp.response(200, UserLoginSchema)
@blp.alt_response(401, schema=ErrorSchema,
                  description="the wx.login code is invalid or was already used")
def wechat_login(body: dict) -> dict:
    """Log in with the code from wx.login; the first login creates the user."""
    user, pair, created = login_with_code(body["code"])
    db.session.commit()
    return {**_pair(pair), "user": profile_of_me(user), "created": created}


@blp.post("/refresh")
@limit_by_ip("auth_refresh", limit=120, window_seconds=60)
@blp.response(200, TokenPairSchema)
@blp.doc(security=[{"bearerAuth": []}], description="Authorization: Bearer <refresh token>")
def refresh() -> dict:
    """Trade the refresh token (in the Authorization header) for a new pair; the old one dies."""
    verify_jwt_in_request(refresh=True)
    pair = refresh_session(get_jwt(), current_user)
    db.session.commit()
    return _pair(pair)


@blp.post("/logout")
@blp.response(200, LogoutSchema)
@blp.doc(security=[{"bearerAuth": []}], description="Authorization: Bearer <access or refresh"
                                                    " token>")
def logout() -> dict:
    """Revoke the session of the presented access or refresh token."""
    verify_jwt_in_request(verify_type=False)
    if isinstance(current_user, AdminAccount):
        audit.record("admin.logout", actor=current_user, target_type="admin_account",
                     target_id=current_user.id)
    log_out(get_jwt()["fam"])
    db.session.commit()
    return {"status": "logged_out"}


@blp.post("/admin-login")
@limit_by_ip("auth_admin_login", limit=30, window_seconds=60)
@blp.arguments(AdminLoginSchema())
@blp.response(200, AdminLoginResultSchema)
@blp.alt_response(401, schema=ErrorSchema,
                  description="wrong username or password, or the account is disabled")
@blp.alt_response(429, schema=ErrorSchema,
                  description="too many logins from this address, or the account is locked"
                              " after five wrong passwords (account_locked)")
def login_admin(body: dict) -> dict:
    """Log an admin or verifier account in; five wrong passwords in 15 minutes lock it."""
    account, pair = admin_login(body["username"], body["password"])
    db.session.commit()
    return {**_pair(pair), "account": account}
