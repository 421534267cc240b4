"""What a provision record (情報提供等記録) says happened, and the sentences of the steps after a decision.

``policies/decisions.py`` decides whether a provision, transfer application, transfer or inquiry may
happen. Three steps follow that no decision function takes, because a person takes them:

- a reviewer confirms or refuses a provision that waits for staff (自動応答不可, III-6 リスク2 ③);
- the LTCI section approves or rejects a transfer application (利用申請, III-5);
- staff record the answer to an inquiry they made (III-6 リスク1 ①).

Their codes and sentences are here, in the same form as the decisions' (:class:`Outcome`), so every
record carries a machine-readable code and one sentence in Japanese and one in English.

:data:`RECORD_OUTCOMES` names what a record is: one row per attempt and per outcome, never changed
(DOMAIN.md §7, III-6: 「情報提供等記録 … kept 7 years, which the person can view」). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from policies.decisions import DENIAL_CODES, Outcome

__all__ = [
    "DENIED_CODES",
    "RECORD_OUTCOMES",
    "STEP_CODES",
    "step_reason",
]

RECORD_OUTCOMES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "PROVIDED": ("提供", "provided over the network"),
        "PENDING_REVIEW": ("確認待ち (自動応答不可)", "waiting for staff confirmation"),
        "DENIED": ("拒否", "denied; the code says why"),
        "CONFIRMED": ("確認の上提供", "confirmed by a reviewer and provided"),
        "REFUSED": ("確認の上不提供", "refused by a reviewer"),
        "PERMISSION_REQUESTED": ("移転の利用申請", "transfer application received"),
        "PERMISSION_APPROVED": ("利用申請の承認", "transfer application approved"),
        "PERMISSION_REJECTED": ("利用申請の不承認", "transfer application rejected"),
        "TRANSFERRED": ("移転", "transferred to a department (one page)"),
        "INQUIRED": ("情報照会", "inquiry made"),
        "INQUIRY_ANSWERED": ("照会への回答の記録", "answer to an inquiry recorded"),
    }
)
"""Every outcome a provision record may have: (Japanese label, English label)."""

STEP_CODES: Final[Mapping[str, Outcome]] = MappingProxyType(
    {
        o.code: o
        for o in (
            Outcome(
                "CONFIRMED_BY_REVIEWER",
                "職員が送信内容を改めて確認し、{citation}に基づき提供しました。",
                "A reviewer checked the contents again and provided them under {citation}.",
            ),
            Outcome(
                "REFUSED_BY_REVIEWER",
                "職員が送信内容を改めて確認し、提供しないこととしました。",
                "A reviewer checked the contents again and refused to provide them.",
            ),
            Outcome(
                "PERMISSION_APPROVED",
                "介護保険課が法的根拠（{citation}）を判断し、移転の利用申請を承認しました。",
                "The LTCI section judged the legal basis ({citation}) and approved the transfer application.",
            ),
            Outcome(
                "PERMISSION_REJECTED",
                "介護保険課は移転の利用申請を承認しませんでした。",
                "The LTCI section did not approve the transfer application.",
            ),
            Outcome(
                "INQUIRY_ANSWERED",
                "情報照会への回答を記録しました（{citation}）。",
                "The answer to the inquiry was recorded ({citation}).",
            ),
        )
    }
)
"""Codes of the steps people take after a decision, with their sentences ({citation} filled in)."""

DENIED_CODES: Final[frozenset[str]] = frozenset({*DENIAL_CODES, "REFUSED_BY_REVIEWER"})
"""Every code a ``Denied`` answer may carry: the decisions' denials and a reviewer's refusal."""


def step_reason(code: str, citation: str | None) -> tuple[str, str]:
    """The Japanese and English sentences of a step code, citing ``citation`` ("—" when unknown)."""
    outcome = STEP_CODES[code]
    cited = citation or "—"
    return outcome.ja.format(citation=cited), outcome.en.format(citation=cited)
