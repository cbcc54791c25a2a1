"""Audience expressions: which profile tags a push rule targets, as `AND`, `OR`, `NOT` of tags.

An atom is a tag pattern: a tag name (`region:5301`), a tag name ending in `:*` for every tag
strictly under it (`cert:driving_licence:*`), or a bare `*` for every tag at all. A pattern
covers its own tag and the tags below it, and a last segment of digits also covers longer digit
codes in the same place (`region:53` covers `region:530102`, while `age:60` leaves `age:60+`).

`parse` reads the text an admin typed; it fails with `AudienceError`, an `InvalidInput` naming
`audience` whose detail reads `offset N: <reason>` (N counts characters from 0), for:
an empty expression; the end where a tag should follow; a `)` or a keyword where a tag should
be; an invalid tag name; a `(` never closed or a `)` never opened; something other than
`AND`, `OR` or `)` inside parentheses; trailing input; and the limits (more than
`MAX_EXPRESSION_LENGTH` characters, more than `MAX_TAG_ATOMS` tags, parentheses nested deeper
than `MAX_DEPTH`). `canonical` gives the stable text stored with a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from app.platform.errors import InvalidInput

MAX_TAG_LENGTH = 64
MAX_EXPRESSION_LENGTH = 2_000
MAX_TAG_ATOMS = 64
MAX_DEPTH = 16
KEYWORDS = frozenset({"AND", "OR", "NOT"})

_NAMESPACE = r"[a-z][a-z0-9_]*"
_SEGMENT = r"[A-Za-z0-9_+.\-]+"
_LENGTH = rf"(?=.{{1,{MAX_TAG_LENGTH}}}\Z)"
# Anchored and length-checked, so `match` (marshmallow's Regexp) and `fullmatch` agree.
TAG_NAME = re.compile(rf"\A{_LENGTH}{_NAMESPACE}(?::{_SEGMENT})+\Z")
_WILDCARD = re.compile(rf"\A{_LENGTH}{_NAMESPACE}(?::{_SEGMENT})*:\*\Z")
ANY_TAG = "*"


def is_tag_name(text: str) -> bool:
    """Whether `text` is a well-formed tag name such as `cert:driving_licence:expiring_30d`."""
    return TAG_NAME.match(text) is not None


def is_pattern(text: str) -> bool:
    """Whether `text` may stand as an atom: a tag name, `ns:…:*` or `*`."""
    return text == ANY_TAG or is_tag_name(text) or _WILDCARD.match(text) is not None


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def covers(pattern: str, tag: str) -> bool:
    """Whether the tag is among those the pattern stands for (see the module docstring)."""
    if pattern == ANY_TAG:
        return True
    if pattern.endswith(":*"):
        stem = pattern[:-1]
        return len(tag) > len(stem) and tag.startswith(stem)
    if tag == pattern or tag.startswith(pattern + ":"):
        return True
    parent, _, last = pattern.rpartition(":")
    if not parent or not _is_digits(last) or not tag.startswith(parent + ":"):
        return False
    # Region codes nest by digits: 53 (province) ⊃ 5301 (prefecture) ⊃ 530102 (county).
    segment = tag[len(parent) + 1:].partition(":")[0]
    return _is_digits(segment) and segment.startswith(last)


@dataclass(frozen=True)
class Tag:
    """One atom: the users carrying any tag the pattern covers."""

    pattern: str


@dataclass(frozen=True)
class Not:
    """The users in the universe that the operand leaves out."""

    operand: Expr


@dataclass(frozen=True)
class And:
    """The users every operand holds."""

    operands: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if not self.operands:
            raise ValueError("AND needs at least one operand")


@dataclass(frozen=True)
class Or:
    """The users any operand holds."""

    operands: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if not self.operands:
            raise ValueError("OR needs at least one operand")


Expr = Tag | Not | And | Or


class AudienceError(InvalidInput):
    """An audience expression that cannot be used; `offset` is where, counted from 0."""

    def __init__(self, offset: int, reason: str, reason_zh: str, *, placed: bool = True) -> None:
        # People count characters from 1; the detail keeps the 0-based offset for the console.
        where = f"第 {offset + 1} 个字符处" if placed else ""
        super().__init__("audience", f"受众表达式有误：{where}{reason_zh}",
                         [f"offset {offset}: {reason}"])
        self.offset = offset


@dataclass(frozen=True)
class _Token:
    text: str
    offset: int

    @property
    def kind(self) -> str:
        """`(`, `)`, a keyword in capitals, `word` (a would-be pattern) or `end`."""
        if self.text in ("(", ")", ""):
            return self.text or "end"
        upper = self.text.upper()
        return upper if self.text.isascii() and upper in KEYWORDS else "word"

    @property
    def shown(self) -> str:
        return self.text if len(self.text) <= 32 else self.text[:32] + "…"


def _tokens(text: str) -> Iterator[_Token]:
    """Parentheses and words (runs of anything else but white space), then an end token."""
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
        elif char in "()":
            yield _Token(char, position)
            position += 1
        else:
            start = position
            while (position < len(text) and not text[position].isspace()
                   and text[position] not in "()"):
                position += 1
            yield _Token(text[start:position], start)
    yield _Token("", len(text))


class _Parser:
    """Recursive descent: expr := term (OR term)*; term := factor (AND factor)*;
    factor := NOT* primary; primary := '(' expr ')' | pattern."""

    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.position = 0
        self.depth = 0
        self.atoms = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.position]

    def advance(self) -> _Token:
        token = self.current
        self.position += 1
        return token

    def expression(self) -> Expr:
        operands = [self.term()]
        while self.current.kind == "OR":
            self.advance()
            operands.append(self.term())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def term(self) -> Expr:
        operands = [self.factor()]
        while self.current.kind == "AND":
            self.advance()
            operands.append(self.factor())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def factor(self) -> Expr:
        # A loop, not recursion: a long run of NOTs must not exhaust the stack.
        negations = 0
        while self.current.kind == "NOT":
            self.advance()
            negations += 1
        expr = self.primary()
        for _ in range(negations):
            expr = Not(expr)
        return expr

    def primary(self) -> Expr:
        token = self.advance()
        if token.kind == "(":
            return self.group(token)
        if token.kind == "word":
            return self.atom(token)
        if token.kind == "end":
            raise AudienceError(token.offset, "expected a tag, found the end",
                                "缺少标签，表达式不完整")
        if token.kind == ")":
            raise AudienceError(token.offset, "unexpected token ')': expected a tag",
                                "应为标签，却是右括号")
        raise AudienceError(token.offset, f"expected a tag, found keyword {token.kind}",
                            f"应为标签，却是关键字 {token.kind}")

    def group(self, opening: _Token) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise AudienceError(opening.offset, f"parentheses nested deeper than {MAX_DEPTH}",
                                f"括号嵌套超出上限（最多 {MAX_DEPTH} 层）")
        expr = self.expression()
        closing = self.advance()
        if closing.kind == "end":
            raise AudienceError(opening.offset, "unbalanced parenthesis: '(' is never closed",
                                "的左括号没有闭合")
        if closing.kind != ")":
            raise AudienceError(closing.offset,
                                f"unexpected token '{closing.shown}': expected AND, OR or ')'",
                                f"应为 AND、OR 或右括号，却是「{closing.shown}」")
        self.depth -= 1
        return expr

    def atom(self, token: _Token) -> Tag:
        if not is_pattern(token.text):
            raise AudienceError(token.offset, f"invalid tag name '{token.shown}'",
                                f"的标签名「{token.shown}」无效")
        self.atoms += 1
        if self.atoms > MAX_TAG_ATOMS:
            raise AudienceError(token.offset, f"more than {MAX_TAG_ATOMS} tags",
                                f"标签数超出上限（最多 {MAX_TAG_ATOMS} 个）")
        return Tag(token.text)

    def whole(self) -> Expr:
        if self.current.kind == "end":
            raise AudienceError(0, "empty expression", "表达式为空", placed=False)
        expr = self.expression()
        token = self.current
        if token.kind == ")":
            raise AudienceError(token.offset, "unbalanced parenthesis: ')' without '('",
                                "的右括号没有对应的左括号")
        if token.kind != "end":
            raise AudienceError(token.offset,
                                f"trailing input '{token.shown}': expected AND, OR or the end",
                                f"多出「{token.shown}」，此处应为 AND、OR 或表达式结束")
        return expr


def parse(text: str) -> Expr:
    """The expression an admin typed, as written (see `simplify` for the stored form)."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise AudienceError(MAX_EXPRESSION_LENGTH,
                            f"expression longer than {MAX_EXPRESSION_LENGTH} characters",
                            f"超出长度上限（最多 {MAX_EXPRESSION_LENGTH} 个字符）")
    return _Parser(text).whole()


def simplify(expr: Expr) -> Expr:
    """The same audience with nesting of like operators flattened, duplicate operands dropped,
    operands sorted by their canonical text and double negation removed."""
    if isinstance(expr, Tag):
        return expr
    if isinstance(expr, Not):
        operand = simplify(expr.operand)
        return operand.operand if isinstance(operand, Not) else Not(operand)
    kind = type(expr)
    flat: list[Expr] = []
    for operand in map(simplify, expr.operands):
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    unique = {_render(operand): operand for operand in flat}
    operands = tuple(unique[text] for text in sorted(unique))
    return operands[0] if len(operands) == 1 else kind(operands)


def _render(expr: Expr) -> str:
    """Text with the fewest parentheses that reads back as the same tree."""
    if isinstance(expr, Tag):
        return expr.pattern
    if isinstance(expr, Not):
        inner = _render(expr.operand)
        return f"NOT ({inner})" if isinstance(expr.operand, And | Or) else f"NOT {inner}"
    if isinstance(expr, And):
        return " AND ".join(f"({_render(operand)})" if isinstance(operand, Or)
                            else _render(operand) for operand in expr.operands)
    return " OR ".join(map(_render, expr.operands))


def canonical(expr: Expr) -> str:
    """The stable text stored with a rule; parsing it gives back the same canonical text."""
    return _render(simplify(expr))


def normalize(text: str) -> tuple[Expr, str]:
    """Parse what an admin typed: the simplified expression and its canonical text."""
    expr = simplify(parse(text))
    return expr, _render(expr)


def positive_patterns(expr: Expr) -> list[str]:
    """The patterns a user matches by having (under an even number of NOTs), sorted."""
    found: set[str] = set()

    def walk(node: Expr, negated: bool) -> None:
        if isinstance(node, Tag):
            if not negated:
                found.add(node.pattern)
        elif isinstance(node, Not):
            walk(node.operand, not negated)
        else:
            for operand in node.operands:
                walk(operand, negated)

    walk(expr, False)
    return sorted(found)
