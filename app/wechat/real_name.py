"""What an answer of WeChat's real-name information check (城市服务实名信息校验) means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOT_REAL_NAMED = "V_OP_NA"  # the WeChat user has not real-named (through WeChat Pay)
NAME_MATCHES = "V_OP_NM_MA"  # the user's real name is the name asked about
NAME_DIFFERS = "V_OP_NM_UM"
ID_MATCHES = "V_NM_ID_MA"  # the name and the ID number belong together
ID_DIFFERS = "V_NM_ID_UM"


@dataclass(frozen=True)
class RealNameCheck:
    """WeChat's verdict: the `verify_openid` results and `verify_real_name` ("" if absent)."""

    openid_results: frozenset[str]
    real_name_result: str

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> RealNameCheck | None:
        """The verdict in a success answer, or None when it carries no `verify_openid`."""
        verify_openid = answer.get("verify_openid")
        verify_real_name = answer.get("verify_real_name")
        if not isinstance(verify_openid, str) or not verify_openid.strip(";"):
            return None
        # Several results come joined by ";".
        results = frozenset(part.strip() for part in verify_openid.split(";") if part.strip())
        return cls(results, verify_real_name if isinstance(verify_real_name, str) else "")

    @property
    def matches(self) -> bool:
        """Whether the user, the name and the ID number all belong together: nothing less binds."""
        return NAME_MATCHES in self.openid_results and self.real_name_result == ID_MATCHES

    @property
    def not_real_named(self) -> bool:
        """Whether WeChat has no real name for the user."""
        return not self.matches and NOT_REAL_NAMED in self.openid_results

    @property
    def mismatch(self) -> bool:
        """Whether WeChat knows the user's real name and it is another name or ID number."""
        if self.matches or self.not_real_named:
            return False
        return NAME_DIFFERS in self.openid_results or (
            NAME_MATCHES in self.openid_results and self.real_name_result == ID_DIFFERS)

    def __str__(self) -> str:
        # Result codes only: safe to log, they hold no personal data.
        return ";".join(sorted(self.openid_results)) + (
            f" {self.real_name_result}" if self.real_name_result else "")
