"""Whether a user's free text may be shown to others: WeChat's text security check (msgSecCheck).

Text that other people read (rating comments) goes past WeChat first, as the platform requires
of user content. WeChat answers a suggestion: `pass` shows it, `review` means a person should
look before it is shown, `risky` keeps it hidden; the label says why (100 normal, 10001 ads,
20001 politics, 20002 porn, 20003 abuse, 20006 crime, 21000 other).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app.platform.errors import InvalidInput, Unavailable
from app.wechat.errors import WeChatError

log = logging.getLogger(__name__)

MAX_CHARS = 2500  # WeChat refuses longer content (47001)
SUGGESTIONS = frozenset({"pass", "review", "risky"})
# Where the text comes from: 1 profile, 2 comment, 3 forum, 4 social log.
SCENES = range(1, 5)
COMMENT_SCENE = 2


@dataclass(frozen=True)
class TextVerdict:
    """WeChat's verdict on a text: its suggestion and the label of what it found."""

    suggest: str
    label: int

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> TextVerdict | None:
        """The verdict in a success answer, or None when it carries no known suggestion."""
        result = answer.get("result")
        if not isinstance(result, dict):
            return None
        suggest, label = result.get("suggest"), result.get("label")
        # A suggestion we do not know is not taken for "pass": nothing unchecked gets shown.
        if suggest not in SUGGESTIONS or type(label) is not int:
            return None
        return cls(suggest, label)

    @property
    def passed(self) -> bool:
        """Whether the text may be shown as it is; `review` and `risky` both hold it back."""
        return self.suggest == "pass"


def check_text(openid: str, content: str, scene: int = COMMENT_SCENE) -> TextVerdict:
    """WeChat's verdict on a text the user `openid` wrote; InvalidInput("comment") when it is
    longer than WeChat checks, Unavailable when WeChat cannot give a verdict now."""
    if scene not in SCENES:
        raise ValueError(f"scene must be 1–4, not {scene}")
    if len(content) > MAX_CHARS:
        raise InvalidInput("comment", f"评价内容不能超过 {MAX_CHARS} 个字", ["内容过长"])
    # Imported here: the package imports this module (through its client) while it loads.
    from app.wechat import wechat_client

    try:
        verdict = wechat_client().msg_sec_check(openid, content, scene)
    except WeChatError as exc:
        # Neither the text nor the openid goes to the log: the errcode says what went wrong.
        log.error("wechat text check failed: errcode %s", exc.errcode)
        # An open circuit breaker says when WeChat is worth trying again.
        raise Unavailable("微信内容安全检测暂时不可用，请稍后再试",
                          retry_after_seconds=getattr(exc, "retry_after_seconds", None)) from None
    log.info("wechat text check: %s (label %s)", verdict.suggest, verdict.label)
    return verdict
