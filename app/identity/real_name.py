"""Real-name verification (实名认证) of a mini program user."""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.platform.errors import Conflict, InvalidInput, Unavailable
from app.platform.events import emit
from app.platform.orm import utcnow
from app.platform.rate_limit import RateLimit, enforce
from app.privacy.identifiers import IdNumberFacts, InvalidIdentifier, parse_id_number
from app.privacy.vault import vault
from app.wechat import wechat_client
from app.wechat.errors import RealNameCodeInvalid, WeChatError

log = logging.getLogger(__name__)

# Chinese names, with the middle dot of minority and foreign names (阿卜杜·热合曼).
_HAN = r"[\u3400-\u9fff\U00020000-\U0002ebef]+"
NAME_PATTERN = re.compile(rf"^{_HAN}(?:[·•]{_HAN})*$")
ATTEMPTS = RateLimit(limit=5, window_seconds=3600)
ID_NUMBER_INDEX = "id_number"


def check_name(name: str) -> str:
    name = name.strip()
    if not 2 <= len(name) <= 30 or not NAME_PATTERN.match(name):
        raise InvalidInput("name", "姓名应为 2–30 个汉字，少数民族姓名可用“·”分隔",
                            ["姓名格式不正确"])
    return name


def check_id_number(id_number: str) -> IdNumberFacts:
    try:
        return parse_id_number(id_number)
    except InvalidIdentifier as exc:
        raise InvalidInput("id_number", exc.message) from None


def prove_with_wechat(user: User, name: str, id_number: str, code: str) -> None:
    """Raise unless WeChat's real-name check says the user really is this name and ID number."""
    try:
        check = wechat_client().check_real_name_info(user.openid, name, id_number, code)
    except RealNameCodeInvalid:
        log.info("real-name consent code refused for user %s", user.id)
        raise InvalidInput("code", "实名授权已失效，请重新授权后再试", ["授权码无效、过期或已使用"],
                           error="real_name_code_invalid") from None
    except WeChatError as exc:
        log.error("wechat real-name check failed for user %s: errcode %s", user.id, exc.errcode)
        # An open circuit breaker says when WeChat is worth trying again.
        raise Unavailable("微信实名核验暂时不可用，请稍后再试",
                          retry_after_seconds=getattr(exc, "retry_after_seconds", None)) from None
    if check.matches:
        return
    log.info("real-name check refused for user %s: %s", user.id, check)
    if check.not_real_named:
        # No field is wrong: the WeChat account itself has no real name to compare with.
        raise InvalidInput("_schema", "您的微信账号尚未实名认证，请先在微信支付中完成实名后再试",
                           error="real_name_not_registered")
    if check.mismatch:
        raise InvalidInput("id_number", "姓名或身份证号码与微信实名信息不一致",
                           error="real_name_mismatch")
    raise Unavailable("微信实名核验结果无法识别，请稍后再试")


def verify_real_name(user: User, name: str, id_number: str, code: str) -> User:
    """Check the name and number, have WeChat prove they are the user's (`code`: consent),
    and store them encrypted; the caller commits."""
    enforce("real_name", str(user.id), ATTEMPTS)
    name = check_name(name)
    facts = check_id_number(id_number)
    index = vault().blind_index(facts.number, ID_NUMBER_INDEX)
    if user.id_number_index == index:
        return user  # verifying again with the same identity changes nothing
    if user.real_name_verified:
        raise Conflict("该账号已完成实名认证，不能更换身份",
                       errors={"id_number": ["账号已实名"]})
    owner = db.session.scalar(sa.select(User.id).where(User.id_number_index == index))
    if owner is not None:
        raise Conflict("该身份证号码已绑定其他账号",
                       errors={"id_number": ["已绑定其他账号"]})
    prove_with_wechat(user, name, facts.number, code)
    cipher = vault()
    user.real_name_enc = cipher.encrypt(name, "user.real_name")
    user.id_number_enc = cipher.encrypt(facts.number, "user.id_number")
    user.id_number_index = index
    user.birth_date, user.gender, user.region_code = (facts.birth_date, facts.gender,
                                                      facts.region_code)
    user.real_name_verified_at = utcnow()
    emit("user.verified", user_id=user.id)
    return user
