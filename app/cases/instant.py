"""Instant approval (秒批): an item whose every condition the applicant's data proves is
approved at submission, and its result issued as an e-certificate.

An item opts in with a rule, `{"conditions": [...], "result_certificate_type"?}`; each
condition names one fact and says in words what it asks (its `label`):

    {"kind": "age", "min": 60}                        the applicant's age, from their ID
    {"kind": "region", "within": "53"}                 where their ID was issued
    {"kind": "certificate", "type": "driving_licence",  a valid certificate of that type, held
     "field": "licence_class", "any_of": ["A2", "B2"]}  by them or the enterprise applying,
                                                        optionally with a field matching one of
                                                        the values (a class code among others)

Nothing is refused here: a condition the data cannot prove sends the case to the normal queue
for a person to decide, and the timeline says which condition that was.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.cases.lifecycle import china_day
from app.certificates.holdings import field_values
from app.certificates.issuing import find_type, issue
from app.models import Enterprise, User
from app.models.certificate import Certificate
from app.platform.clock import CHINA_TZ, age_on
from app.platform.errors import InvalidInput
from app.privacy.vault import vault

CONDITION_KINDS = ("age", "region", "certificate")
MAX_CONDITIONS = 10


@dataclass
class Decision:
    approved: bool
    reasons: list[str] = field(default_factory=list)  # one per condition, proven or not
    proofs: dict[str, Certificate] = field(default_factory=dict)  # certificate type → proof

    @property
    def note(self) -> str:
        return "；".join(self.reasons)


def check_rule(rule: Any) -> dict[str, Any] | None:
    """An item's rule as an admin writes it; InvalidInput naming what is wrong."""
    if rule is None:
        return None
    if not isinstance(rule, dict) or not isinstance(rule.get("conditions"), list):
        raise InvalidInput("instant_approval", "秒批规则应包含 conditions 列表")
    conditions = rule["conditions"]
    if not 1 <= len(conditions) <= MAX_CONDITIONS:
        raise InvalidInput("instant_approval.conditions",
                           f"秒批规则须有 1 至 {MAX_CONDITIONS} 个条件")
    for number, condition in enumerate(conditions):
        where = f"instant_approval.conditions.{number}"
        kind = condition.get("kind") if isinstance(condition, dict) else None
        if kind not in CONDITION_KINDS:
            raise InvalidInput(where, "条件类型应为 age、region 或 certificate")
        minimum = condition.get("min")
        if kind == "age" and (isinstance(minimum, bool) or not isinstance(minimum, int)):
            raise InvalidInput(where, "年龄条件须给出整数 min")
        if kind == "region" and not str(condition.get("within", "")).isdigit():
            raise InvalidInput(where, "地区条件须给出行政区划代码前缀 within")
        if kind == "certificate":
            _known_type(condition.get("type"), where)
            _check_classes(condition, where)
    result = rule.get("result_certificate_type")
    if result is not None:
        _known_type(result, "instant_approval.result_certificate_type")
    return rule


def _known_type(code: Any, where: str) -> None:
    try:
        find_type(str(code or ""))
    except InvalidInput as exc:
        raise InvalidInput(where, exc.message) from None


def _check_classes(condition: dict[str, Any], where: str) -> None:
    """`any_of` lists the values one field of the certificate must hold one of."""
    wanted = condition.get("any_of")
    if wanted is None:
        return
    if not isinstance(wanted, list) or not all(isinstance(v, str) and v for v in wanted):
        raise InvalidInput(where, "any_of 须为非空文本的列表")
    if not isinstance(condition.get("field"), str) or not condition["field"]:
        raise InvalidInput(where, "给出 any_of 时须给出要比对的证照字段 field")


def _label(condition: dict[str, Any]) -> str:
    if condition.get("label"):
        return str(condition["label"])
    kind = condition["kind"]
    if kind == "age":
        return f"年满{condition['min']}周岁"
    if kind == "region":
        return f"户籍地在{condition['within']}"
    return f"持有有效的{condition['type']}"


def decide(rule: dict[str, Any], user: User, enterprise: Enterprise | None,
           held: list[Certificate], now: datetime) -> Decision:
    """Whether the applicant's facts prove every condition, with a reason for each."""
    decision = Decision(approved=True)
    today = china_day(now)
    valid = [c for c in held if c.status_at(now) == "valid"]
    for condition in rule["conditions"]:
        label = _label(condition)
        proven = False
        kind = condition["kind"]
        if kind == "age":
            proven = (user.birth_date is not None
                      and age_on(user.birth_date, today) >= condition["min"])
        elif kind == "region":
            proven = bool(user.region_code) and user.region_code.startswith(
                str(condition["within"]))
        elif kind == "certificate":
            proof = _matching_certificate(condition, valid)
            if proof is not None:
                decision.proofs[condition["type"]] = proof
                proven = True
        decision.reasons.append(f"{label}：{'已核验' if proven else '未能核验'}")
        decision.approved = decision.approved and proven
    return decision


def _matching_certificate(condition: dict[str, Any], valid: list[Certificate]
                          ) -> Certificate | None:
    for certificate in valid:
        if certificate.type.code != condition["type"]:
            continue
        wanted = condition.get("any_of")
        if not wanted:
            return certificate
        value = str(field_values(certificate).get(condition.get("field", ""), ""))
        if any(str(code) in value for code in wanted):
            return certificate
    return None


def issue_result(rule: dict[str, Any], decision: Decision, user: User,
                 enterprise: Enterprise | None, now: datetime) -> Certificate | None:
    """Issue the item's result certificate to the applicant (or their enterprise), carrying
    what the applicant's identity and the proving certificates say of the type's fields."""
    code = rule.get("result_certificate_type")
    if not code:
        return None
    kind = find_type(code)
    cipher = vault()
    known: dict[str, Any] = {}
    for proof in decision.proofs.values():
        known.update(field_values(proof))
    if user.real_name_enc:
        known["name"] = cipher.decrypt(user.real_name_enc, "user.real_name")
    if user.birth_date:
        known["birth_date"] = user.birth_date.isoformat()
    if user.gender:
        known["gender"] = user.gender
    today = china_day(now)
    expires = _years_after(now, kind.validity_years) if kind.validity_years else None
    known.update(issue_date=today.isoformat(), valid_from=today.isoformat(),
                 issuing_region=user.region_code or "",
                 valid_until=china_day(expires).isoformat() if expires else "长期")
    names = {f["name"] for f in kind.fields} - {kind.number_field}
    serial = f"{secrets.randbelow(10**12):012d}"
    number = f"{kind.type_code}{today:%Y%m%d}{serial}"
    holder_number = None
    if kind.holder_kind == "personal":
        holder_number = cipher.decrypt(user.id_number_enc, "user.id_number")
    return issue(kind, holder_id_number=holder_number,
                 holder_uscc=enterprise.uscc if enterprise else None, number=number,
                 serial=serial, fields={k: v for k, v in known.items() if k in names},
                 issued_at=now, expires_at=expires)


def _years_after(moment: datetime, years: int) -> datetime:
    """The same China day `years` later; from a 29 February, the 28th when that year has none."""
    local = moment.astimezone(CHINA_TZ)
    try:
        return local.replace(year=local.year + years)
    except ValueError:
        return local.replace(year=local.year + years, day=28)


def summary_of(decision: Decision) -> str:
    return json.dumps({"approved": decision.approved, "reasons": decision.reasons},
                      ensure_ascii=False)
