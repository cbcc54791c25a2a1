"""Why a person got a message: the rule, the tags of theirs its audience names, and a sentence
for people (the rule's public reason, or one built from those tags in Chinese).

Only the person's current tags count, and sensitive ones (health, assistance) never appear:
not in the tags, not in the sentence. Tags carry no personal numbers (tag names refuse them),
so neither does the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.cases.lifecycle import STATUS_LABELS
from app.catalog.snapshot import ItemSummary, catalog_snapshot
from app.extensions import db
from app.models.certificate import CertificateType
from app.models.tag import TagMembership
from app.platform.errors import InvalidInput
from app.platform.orm import utcnow
from app.privacy.identifiers import InvalidIdentifier, region_ancestors
from app.push.audiences import hidden_tags
from app.push.evaluation import matched_tags
from app.push.expressions import ANY_TAG, Expr, covers, normalize, positive_patterns
from app.push.index import UNIVERSE_TAG

# The families a sentence names first: where, then who, then what they hold or do.
FAMILY_ORDER = ("region", "age", "gender", "user", "cert", "case", "industry")
MAX_CLAUSES = 3
WITHOUT_TAGS = "您符合这条消息的推送条件"
USER_FACTS = {"user:real_name": "您已完成实名认证", "user:enterprise": "您是企业用户",
              "user:legal_rep": "您是企业法定代表人", "user:agent": "您是企业经办人"}
GENDERS = {"gender:f": "您是女性", "gender:m": "您是男性"}
_AGE_FROM = re.compile(r"^age:([0-9]{1,3})\+$")
_AGE_BAND = re.compile(r"^age:([0-9]{1,3})-([0-9]{1,3})$")
_REGION = re.compile(r"^region:([0-9]{6})$")
_CERT = re.compile(r"^cert:([^:]+)$")
_CERT_EXPIRING = re.compile(r"^cert:([^:]+):expiring_([0-9]{1,3})d$")
_CASE = re.compile(r"^case:([^:]+):([a-z_]+)$")


@dataclass(frozen=True)
class RuleFacts:
    """What a message's `why` needs of its rule (read once per process with the run)."""

    id: int
    name: str
    reason: str  # public; empty: the sentence is built from the tags
    audience: Expr | None  # None when the stored text no longer parses

    @classmethod
    def of(cls, rule_id: int, name: str, reason: str | None, audience: str) -> RuleFacts:
        try:
            expr: Expr | None = normalize(audience)[0]
        except InvalidInput:  # stored canonical, so only an older grammar's text lands here
            expr = None
        return cls(rule_id, name, (reason or "").strip(), expr)


@dataclass(frozen=True)
class Names:
    """People's names for the codes tags hold: regions, certificate types, service items."""

    regions: dict[str, str]
    certificates: dict[str, str]
    items: dict[str, ItemSummary]


def explain(user_id: int, rules: Iterable[RuleFacts]) -> dict[int, dict[str, Any]]:
    """`{"text", "rule", "tags"}` for each rule, by rule id, from the person's current tags."""
    rules = {rule.id: rule for rule in rules}
    if not rules:
        return {}
    carried = _current_tags(user_id)
    matched = {rule.id: _matched(rule.audience, carried) for rule in rules.values()}
    hidden = hidden_tags({tag for tags in matched.values() for tag in tags})
    shown = {rule_id: [t for t in tags if t not in hidden] for rule_id, tags in matched.items()}
    names = _names({tag for tags in shown.values() for tag in tags})
    return {rule.id: {"text": rule.reason or sentence(shown[rule.id], names), "rule": rule.name,
                      "tags": shown[rule.id]} for rule in rules.values()}


def _current_tags(user_id: int) -> list[str]:
    """The tags the person carries now: not disputed, not lapsed (as the index holds them)."""
    now = utcnow()
    return list(db.session.scalars(sa.select(TagMembership.tag).where(
        TagMembership.user_id == user_id, TagMembership.disputed_at.is_(None),
        sa.or_(TagMembership.expires_at.is_(None), TagMembership.expires_at > now))))


def _matched(audience: Expr | None, carried: list[str]) -> list[str]:
    """The tags the audience's positive patterns cover; a bare `*` (everyone) names none, and
    the tag everyone carries says nothing."""
    if audience is None:
        return []
    tags = [tag for tag in matched_tags(audience, carried) if tag != UNIVERSE_TAG]
    patterns = positive_patterns(audience)
    if ANY_TAG in patterns:
        named = [pattern for pattern in patterns if pattern != ANY_TAG]
        tags = [tag for tag in tags if any(covers(pattern, tag) for pattern in named)]
    return tags


def _names(tags: set[str]) -> Names:
    """Names for the codes among `tags`: one query for certificate types at most."""
    snapshot = catalog_snapshot()
    types = {match.group(1) for tag in tags
             if (match := _CERT.match(tag) or _CERT_EXPIRING.match(tag))}
    certificates = dict(db.session.execute(sa.select(CertificateType.code, CertificateType.name)
                                           .where(CertificateType.code.in_(types))).all()
                        ) if types else {}
    return Names(snapshot.region_names, certificates, snapshot.items)


def sentence(tags: list[str], names: Names) -> str:
    """「因为您在昆明市五华区，且机动车驾驶证将于30日内到期」: the first few tags, in Chinese."""
    expiring = {match.group(1) for tag in tags if (match := _CERT_EXPIRING.match(tag))}
    clauses: list[str] = []
    for tag in sorted(tags, key=_order):
        held = _CERT.match(tag)
        if held and held.group(1) in expiring:
            continue  # "holds it" says less than "it expires soon"
        clause = clause_for(tag, names)
        if clause not in clauses:
            clauses.append(clause)
    if not clauses:
        return WITHOUT_TAGS
    return "因为" + "，且".join(clauses[:MAX_CLAUSES])


def _order(tag: str) -> tuple[int, str]:
    family = tag.partition(":")[0]
    rank = FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER)
    return rank, tag


def clause_for(tag: str, names: Names) -> str:
    """One tag as part of a sentence; a tag without a known wording stands as itself."""
    if tag in USER_FACTS:
        return USER_FACTS[tag]
    if tag in GENDERS:
        return GENDERS[tag]
    if match := _REGION.match(tag):
        place = region_name(match.group(1), names.regions)
        if place:
            return f"您在{place}"
    elif match := _AGE_FROM.match(tag):
        return f"您的年龄在{int(match.group(1))}岁及以上"
    elif match := _AGE_BAND.match(tag):
        low, high = int(match.group(1)), int(match.group(2))
        return f"您的年龄在{high}岁及以下" if low == 0 else f"您的年龄在{low}至{high}岁"
    elif match := _CERT_EXPIRING.match(tag):
        if match.group(1) in names.certificates:
            days = int(match.group(2))
            return f"{names.certificates[match.group(1)]}将于{days}日内到期"
    elif match := _CERT.match(tag):
        if match.group(1) in names.certificates:
            return f"您持有{names.certificates[match.group(1)]}"
    elif match := _CASE.match(tag):
        item, status = names.items.get(match.group(1)), STATUS_LABELS.get(match.group(2))
        if item is not None and status:
            return f"您的「{item.name}」办件{status}"
    return f"您符合「{tag}」"


def region_name(code: str, names: dict[str, str]) -> str | None:
    """A region as people say it: 昆明市五华区 for a county (its prefecture first), 昆明市,
    云南省; None when the catalog does not name it."""
    try:
        chain = region_ancestors(code)  # most specific first: county, prefecture, province
    except InvalidIdentifier:
        return None
    if code not in names:
        return None
    # The province is left out below it: people say 昆明市五华区, not 云南省昆明市五华区.
    wanted = chain[:-1] if len(chain) > 1 else chain
    return "".join(names[c] for c in reversed(wanted) if c in names)
