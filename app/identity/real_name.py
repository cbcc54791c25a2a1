"""Real-name verification (实名认证) of a mini program user."""

from __future__ import annotations

import logging
import re
from typing import Protocol

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.platform.app_services import AppService
from app.platform.errors import Conflict, InvalidInput
from app.platform.orm import utcnow
from app.platform.rate_limit import RateLimit, enforce
from app.privacy.identifiers import IdNumberFacts, InvalidIdentifier, parse_id_number
from app.privacy.vault import vault

log = logging.getLogger(__name__)

# Chinese names, with the middle dot of minority and foreign names (阿卜杜·热合曼).
_HAN = r"[\u3400-\u9fff\U00020000-\U0002ebef]+"
NAME_PATTERN = re.compile(rf"^{_HAN}(?:[·•]{_HAN})*$")
ATTEMPTS = RateLimit(limit=5, window_seconds=3600)
ID_NUMBER_INDEX = "id_number"


class IdentityVerifier(Protocol):
    """Asks the authority whether a name and ID number belong together."""

    def verify(self, name: str, id_number: str) -> bool: ...


class RegistryVerifier:
    """The default: accepts every valid number except those on a deny list.

    A deployment replaces it with the public-security identity service; the deny list
    (`REAL_NAME_DENY_LIST`, blind indexes or numbers in tests) lets tests play a refusal.
    """

    def __init__(self, denied_numbers: set[str]) -> None:
        self.denied_numbers = denied_numbers

    def verify(self, name: str, id_number: str) -> bool:
        return id_number not in self.denied_numbers


identity_verifier: AppService[IdentityVerifier] = AppService(
    "identity_verifier",
    lambda app: RegistryVerifier(set(app.config.get("REAL_NAME_DENY_LIST", ()))))


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


def verify_real_name(user: User, name: str, id_number: str) -> User:
    """Check the name and number, ask the verifier, and store them encrypted; caller commits."""
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
    if not identity_verifier().verify(name, facts.number):
        log.info("real-name verification refused for user %s", user.id)
        raise InvalidInput("id_number", "姓名与身份证号码不一致", error="real_name_mismatch")
    cipher = vault()
    user.real_name_enc = cipher.encrypt(name, "user.real_name")
    user.id_number_enc = cipher.encrypt(facts.number, "user.id_number")
    user.id_number_index = index
    user.birth_date, user.gender, user.region_code = (facts.birth_date, facts.gender,
                                                      facts.region_code)
    user.real_name_verified_at = utcnow()
    return user
