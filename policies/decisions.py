"""Decisions on provisions, transfers, inquiries and use, against the legal bases in force.

Every function is pure: it takes the facts (the request, the request date, what the caller found out
about the person or the permission) and returns a :class:`Decision`; it reads nothing but the packaged
registry (``policies/legal_bases.py``) and writes nothing. The caller records the decision (情報提供等記録)
and acts on it.

Each function checks in a fixed order and stops at the first failure, so a denial names one reason.
The reasons, one sentence in Japanese and one in English, are in :data:`DENIAL_CODES` (denials) and
:data:`ALLOWED_CODES` (the outcomes that allow), below, readable as a table.

Sources: III-5 (transfers: 「データ提供・移転先からの利用申請を求め、データ提供・移転元が法的根拠等を判断し、承認を
得たもののみ、データの提供・移転を許可する。」); III-6 リスク1 ① (an inquiry needs a 情報提供許可証 matched against
the 照会許可用照合リスト); III-6 リスク2 ①–③ (a provision is checked against the same list; information
flagged 自動応答不可 is confirmed by staff before it is sent); II-2-③ 対象となる本人の範囲 (「第一号被保険者及び
認定を受けた第二号被保険者並びにその世帯員」); DOMAIN.md §7.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Final

from policies.individual_number import mask_valid_numbers
from policies.legal_bases import Direction, LegalBasis, entry, history, information_items, normalise_item
from policies.procedures import procedures
from policies.roles import department as _department

__all__ = [
    "ALLOWED_CODES",
    "DENIAL_CODES",
    "RETENTION_YEARS",
    "Decision",
    "Outcome",
    "SubjectFacts",
    "TransferPermissionFacts",
    "decide_inquiry",
    "decide_provision",
    "decide_transfer",
    "decide_transfer_request",
    "decide_transferred_person",
    "decide_use",
    "is_purgeable",
    "purge_before",
]


@dataclass(frozen=True)
class Outcome:
    """One outcome a decision may have: its code and its sentence in Japanese and in English.

    The sentences are templates: ``{item}`` the item, ``{on}`` the date decided on, ``{given}`` what
    the caller named, ``{expected}`` the counterparty of the entry, ``{items}`` the refused items,
    ``{valid_from}`` / ``{valid_to}`` a permission's period, ``{citation}`` the article in force,
    ``{direction_ja}`` / ``{direction_en}``, ``{why_ja}`` / ``{why_en}`` why staff review it.
    """

    code: str
    ja: str
    en: str


def _table(*outcomes: Outcome) -> Mapping[str, Outcome]:
    return MappingProxyType({o.code: o for o in outcomes})


DENIAL_CODES: Final[Mapping[str, Outcome]] = _table(
    Outcome(
        "UNKNOWN_BASIS",
        "「{item}」の項には{direction_ja}の法令上の根拠がありません。",
        "There is no legal basis for {direction_en} under item {item}.",
    ),
    Outcome(
        "BASIS_NOT_IN_FORCE",
        "「{item}」の項の{direction_ja}の根拠は{on}に効力を有していません。",
        "The legal basis for {direction_en} under item {item} is not in force on {on}.",
    ),
    Outcome(
        "COUNTERPARTY_MISMATCH",
        "「{given}」は「{item}」の項の相手方（{expected}）に当たりません。",
        "{given} is not the counterparty of item {item} ({expected}).",
    ),
    Outcome(
        "NO_ITEMS_REQUESTED",
        "求める情報項目が一つも指定されていません。",
        "No information items were requested.",
    ),
    Outcome(
        "ITEM_NOT_PERMITTED",
        "「{item}」の項で認められていない情報項目が求められています: {items}。",
        "Item {item} does not permit these information items: {items}.",
    ),
    Outcome(
        "SUBJECT_OUT_OF_SCOPE",
        "本人は特定個人情報ファイルの対象となる本人の範囲（被保険者及びその世帯員）に含まれません。",
        "The person is outside the scope of the file (insured persons and their household members).",
    ),
    Outcome(
        "INVALID_PERIOD",
        "許可期間の終了日（{valid_to}）が開始日（{valid_from}）より前です。",
        "The permission period ends ({valid_to}) before it starts ({valid_from}).",
    ),
    Outcome(
        "PERMISSION_NOT_APPROVED",
        "この移転の利用申請は承認されていません。",
        "The application for this transfer has not been approved.",
    ),
    Outcome(
        "PERMISSION_NOT_YET_VALID",
        "移転の許可期間は{valid_from}からで、{on}はまだ期間前です。",
        "The transfer permission is valid from {valid_from}, not yet on {on}.",
    ),
    Outcome(
        "PERMISSION_EXPIRED",
        "移転の許可期間は{valid_to}に終了しており、{on}は期間後です。",
        "The transfer permission ended on {valid_to}; {on} is after it.",
    ),
    Outcome(
        "SUBJECT_SUSPENDED",
        "本人の利用停止請求に基づき、本人の特定個人情報の提供・移転を停止しています。",
        "Provision and transfer of this person's information are suspended at the person's request (利用停止).",
    ),
    Outcome(
        "PERIOD_TOO_LONG",
        "移転の許可期間は{valid_from}から{valid_to}までの{days}日以内で申請してください（提供依頼を受けた都度）。",
        "A transfer permission lasts at most {days} days ({valid_from} to {valid_to}): one per request.",
    ),
    Outcome(
        "PERMISSION_ALREADY_USED",
        "この利用申請は別の移転依頼で使用済みのため、移転依頼ごとに利用申請が必要です。",
        "This permission was used by another transfer request; apply for each request.",
    ),
    Outcome(
        "PERMIT_REQUIRED",
        "情報照会には情報提供許可証が必要ですが、その番号が示されていません。",
        "An inquiry needs an information provision permit (情報提供許可証), and none was given.",
    ),
)
"""Every denial code and its sentences."""

ALLOWED_CODES: Final[Mapping[str, Outcome]] = _table(
    Outcome(
        "PROVIDED",
        "{citation}に基づき提供できます。",
        "May be provided under {citation}.",
    ),
    Outcome(
        "PENDING_REVIEW",
        "{citation}に基づく{direction_ja}ですが、職員の確認を経てから行います（{why_ja}）。",
        "Permitted {direction_en} under {citation}, but staff confirm it first ({why_en}).",
    ),
    Outcome(
        "TRANSFERRED",
        "承認された利用申請と{citation}に基づき移転できます。",
        "May be transferred under the approved application and {citation}.",
    ),
    Outcome(
        "INQUIRY_ALLOWED",
        "{citation}に基づき照会できます。",
        "May inquire under {citation}.",
    ),
    Outcome(
        "USE_ALLOWED",
        "{citation}に基づき個人番号を利用できます。",
        "The individual number may be used under {citation}.",
    ),
)
"""Every code of a decision that allows (PENDING_REVIEW allows after a person confirms)."""

_DIRECTION_EN = {
    Direction.USE: "use",
    Direction.INQUIRY: "inquiry",
    Direction.PROVISION: "provision",
    Direction.TRANSFER: "transfer",
}

_WHY = {
    "flagged": ("本人に自動応答不可が設定されています", "the person is flagged no-automatic-response"),
    "basis": ("この根拠は自動応答を認めていません", "this legal basis allows no automatic response"),
    "approval": (
        "利用申請は介護保険課が法的根拠を判断し承認したもののみ許可されます",
        "an application is allowed only once the LTCI section has judged and approved it",
    ),
}


@dataclass(frozen=True)
class Decision:
    """What a decision function decided, and why, in both languages."""

    allowed: bool
    code: str
    reason_ja: str
    reason_en: str
    basis: LegalBasis | None
    """The row decided against (its article is the one in force on the date); None if there is none."""
    needs_review: bool = False
    """Allowed only after a person confirms (自動応答不可, or a transfer application to approve)."""
    refused_items: tuple[str, ...] = ()
    """With ITEM_NOT_PERMITTED: the requested items the basis does not permit."""


@dataclass(frozen=True)
class SubjectFacts:
    """What the caller established about the person a provision is about."""

    in_scope: bool
    """The person is an insured person or a member of an insured person's household (II-2-③)."""
    no_automatic_response: bool = False
    """The person's information carries the 自動応答不可 flag (III-6 リスク2 ③)."""
    suspended: bool = False
    """A suspension (利用停止) the person asked for is in force (IV-1)."""


@dataclass(frozen=True)
class TransferPermissionFacts:
    """An application for a transfer (利用申請) as the caller stored it."""

    department: str
    """The applying department's id (roles.toml); its Japanese name is accepted too."""
    item: str
    """The 別表第2 item of the affair the department performs (``"26"``, ``"56の2"``)."""
    items: frozenset[str]
    """The information items granted."""
    valid_from: date
    valid_to: date | None
    """Last day of the permission; None for no end date (it still ends with its legal basis)."""
    approved: bool
    """Approved by the LTCI section (III-5); False while pending, rejected or revoked."""
    used_by_other_request: bool = False
    """Another transfer request already used it (one permission, one 提供依頼)."""


# ---------------------------------------------------------------------------------------------------
# Building decisions
# ---------------------------------------------------------------------------------------------------


def _shown(value: object) -> str:
    """Caller text echoed in a reason: never an individual number, never long."""
    text = mask_valid_numbers(str(value))
    return text if len(text) <= 80 else text[:79] + "…"


def _shown_item(item: str) -> str:
    try:
        return _shown(normalise_item(item))
    except ValueError:
        return _shown(item)


def _decision(
    code: str,
    *,
    direction: Direction,
    item: str,
    basis: LegalBasis | None = None,
    needs_review: bool = False,
    refused: tuple[str, ...] = (),
    **values: object,
) -> Decision:
    allowed = code in ALLOWED_CODES
    outcome = ALLOWED_CODES[code] if allowed else DENIAL_CODES[code]
    fields: dict[str, object] = {
        "item": _shown_item(item),
        "direction_ja": direction.ja,
        "direction_en": _DIRECTION_EN[direction],
        "citation": basis.citation if basis is not None else "",
        "items": ", ".join(refused),
        "given": "",
        "expected": basis.counterparty if basis is not None else "",
        "on": "",
        "valid_from": "",
        "valid_to": "",
        "why_ja": "",
        "why_en": "",
        "days": procedures().permission_max_days,
    }
    fields.update(values)
    return Decision(
        allowed=allowed,
        code=code,
        reason_ja=outcome.ja.format(**fields),
        reason_en=outcome.en.format(**fields),
        basis=basis,
        needs_review=needs_review,
        refused_items=refused,
    )


def _requested(requested_items: Iterable[str]) -> tuple[str, ...]:
    if isinstance(requested_items, str):
        # A bare string would iterate as characters; make the caller say what it means.
        raise TypeError("requested_items must be an iterable of information item ids, not a string")
    return tuple(dict.fromkeys(requested_items))


def _refused(requested: tuple[str, ...], permitted: frozenset[str]) -> tuple[str, ...]:
    """Requested ids not in ``permitted``, labelled for the reason (unknown ids shown masked)."""
    catalogue = information_items()
    refused = []
    for item_id in requested:
        if item_id in permitted:
            continue
        known = catalogue.get(item_id)
        refused.append(f"{known.id} {known.ja}" if known is not None else _shown(item_id))
    return tuple(refused)


def _basis_on(item: str, direction: Direction, on: date) -> tuple[str | None, LegalBasis | None]:
    """(None, row) when in force; ("UNKNOWN_BASIS" | "BASIS_NOT_IN_FORCE", None) otherwise."""
    if not history(item, direction):
        return "UNKNOWN_BASIS", None
    row = entry(item, direction, on)
    if row is None:
        return "BASIS_NOT_IN_FORCE", None
    return None, row


def _check_items(
    requested: tuple[str, ...],
    permitted: frozenset[str],
    *,
    direction: Direction,
    item: str,
    basis: LegalBasis,
) -> Decision | None:
    if not requested:
        return _decision("NO_ITEMS_REQUESTED", direction=direction, item=item, basis=basis)
    refused = _refused(requested, permitted)
    if refused:
        return _decision("ITEM_NOT_PERMITTED", direction=direction, item=item, basis=basis, refused=refused)
    return None


# ---------------------------------------------------------------------------------------------------
# Provision (情報提供): a body asks over the network
# ---------------------------------------------------------------------------------------------------


def decide_provision(
    item: str,
    inquirer: str,
    requested_items: Iterable[str],
    request_date: date,
    subject: SubjectFacts,
) -> Decision:
    """May the city provide ``requested_items`` about ``subject`` to ``inquirer`` under ``item``?

    Checks, in order: the item has a provision entry at all (UNKNOWN_BASIS); one is in force on
    ``request_date`` (BASIS_NOT_IN_FORCE); ``inquirer`` is its counterparty or one of the alternatives
    it lists (COUNTERPARTY_MISMATCH); at least one item is requested (NO_ITEMS_REQUESTED) and every one
    is permitted (ITEM_NOT_PERMITTED, listing the others); the person is in the file's scope
    (SUBJECT_OUT_OF_SCOPE); no suspension (利用停止) is in force (SUBJECT_SUSPENDED). Then allowed: PROVIDED, or PENDING_REVIEW with ``needs_review`` when the
    entry allows no automatic response or the person is flagged 自動応答不可.
    """
    direction = Direction.PROVISION
    requested = _requested(requested_items)
    failure, basis = _basis_on(item, direction, request_date)
    if basis is None:
        return _decision(failure or "UNKNOWN_BASIS", direction=direction, item=item, on=request_date)
    if not basis.accepts(inquirer):
        return _decision(
            "COUNTERPARTY_MISMATCH", direction=direction, item=item, basis=basis, given=_shown(inquirer)
        )
    denied = _check_items(requested, basis.items, direction=direction, item=item, basis=basis)
    if denied is not None:
        return denied
    if not subject.in_scope:
        return _decision("SUBJECT_OUT_OF_SCOPE", direction=direction, item=item, basis=basis)
    if subject.suspended:
        return _decision("SUBJECT_SUSPENDED", direction=direction, item=item, basis=basis)
    if subject.no_automatic_response or not basis.auto_response:
        why_ja, why_en = _WHY["flagged" if subject.no_automatic_response else "basis"]
        return _decision(
            "PENDING_REVIEW",
            direction=direction,
            item=item,
            basis=basis,
            needs_review=True,
            why_ja=why_ja,
            why_en=why_en,
        )
    return _decision("PROVIDED", direction=direction, item=item, basis=basis)


# ---------------------------------------------------------------------------------------------------
# Transfer (移転): a department applies, then receives
# ---------------------------------------------------------------------------------------------------


def decide_transfer_request(
    department: str,
    item: str,
    requested_items: Iterable[str],
    *,
    valid_from: date,
    valid_to: date | None,
    on: date,
    purpose: str | None = None,
) -> Decision:
    """May the LTCI section approve ``department``'s application (利用申請) for a transfer?

    Checks, in order: the item has a transfer entry (UNKNOWN_BASIS) in force on ``on``, the day of the
    application (BASIS_NOT_IN_FORCE); the department is the entry's counterparty (COUNTERPARTY_MISMATCH;
    id or Japanese name of roles.toml); items requested and permitted (NO_ITEMS_REQUESTED,
    ITEM_NOT_PERMITTED); ``valid_to`` not before ``valid_from`` (INVALID_PERIOD); an end, at most
    ``permission_max_days`` after the start (PERIOD_TOO_LONG: one permission answers one 提供依頼, II-5
    移転先1 ⑦「提供依頼を受けた都度」, procedures.toml); the period within the entry's validity (BASIS_NOT_IN_FORCE on the first day outside it — a permission cannot outlast its
    legal basis). Then PENDING_REVIEW with ``needs_review``: III-5 wants the section's approval.

    ``purpose`` is the department's own wording, kept with the application by the caller; the legal
    test is the item (the affair of 別表第2's second column), so the wording is not compared.
    """
    del purpose  # recorded by the caller; see the docstring
    direction = Direction.TRANSFER
    requested = _requested(requested_items)
    failure, basis = _basis_on(item, direction, on)
    if basis is None:
        return _decision(failure or "UNKNOWN_BASIS", direction=direction, item=item, on=on)
    if not basis.accepts(department):
        return _decision(
            "COUNTERPARTY_MISMATCH", direction=direction, item=item, basis=basis, given=_shown(department)
        )
    denied = _check_items(requested, basis.items, direction=direction, item=item, basis=basis)
    if denied is not None:
        return denied
    if valid_to is not None and valid_to < valid_from:
        return _decision(
            "INVALID_PERIOD",
            direction=direction,
            item=item,
            basis=basis,
            valid_from=valid_from,
            valid_to=valid_to,
        )
    longest = procedures().permission_max_days
    if valid_to is None or (valid_to - valid_from).days + 1 > longest:
        return _decision(
            "PERIOD_TOO_LONG",
            direction=direction,
            item=item,
            basis=basis,
            valid_from=valid_from,
            valid_to=valid_to or "—",
        )
    outside = _first_day_outside(item, direction, valid_from, valid_to)
    if outside is not None:
        return _decision("BASIS_NOT_IN_FORCE", direction=direction, item=item, basis=basis, on=outside)
    why_ja, why_en = _WHY["approval"]
    return _decision(
        "PENDING_REVIEW",
        direction=direction,
        item=item,
        basis=basis,
        needs_review=True,
        why_ja=why_ja,
        why_en=why_en,
    )


def _first_day_outside(item: str, direction: Direction, start: date, end: date | None) -> date | None:
    """The first day of [start, end] on which no row of the item is in force, or None."""
    day = start
    for row in history(item, direction):
        if row.valid_to is not None and row.valid_to < day:
            continue
        if row.valid_from > day:
            return day
        if row.valid_to is None:
            return None
        if end is not None and row.valid_to >= end:
            return None
        day = row.valid_to + timedelta(days=1)
    return day


def _same_department(a: str, b: str) -> bool:
    first, second = _department(a), _department(b)
    return first is not None and second is not None and first.id == second.id


def decide_transfer(
    permission: TransferPermissionFacts,
    department: str,
    requested_items: Iterable[str],
    on: date,
) -> Decision:
    """May ``department`` receive ``requested_items`` on ``on`` under ``permission``?

    Checks, in order: the application was approved (PERMISSION_NOT_APPROVED); ``on`` lies in its
    period (PERMISSION_NOT_YET_VALID, PERMISSION_EXPIRED); ``department`` is the one that applied
    (COUNTERPARTY_MISMATCH); items requested and granted (NO_ITEMS_REQUESTED, ITEM_NOT_PERMITTED); no
    other transfer request used it (PERMISSION_ALREADY_USED: one 提供依頼 each); the
    legal basis exists (UNKNOWN_BASIS) and is still in force on ``on`` (BASIS_NOT_IN_FORCE), names the
    department (COUNTERPARTY_MISMATCH) and permits the items (ITEM_NOT_PERMITTED). Then TRANSFERRED.
    """
    direction = Direction.TRANSFER
    item = permission.item
    requested = _requested(requested_items)
    if not permission.approved:
        return _decision("PERMISSION_NOT_APPROVED", direction=direction, item=item)
    if on < permission.valid_from:
        return _decision(
            "PERMISSION_NOT_YET_VALID",
            direction=direction,
            item=item,
            valid_from=permission.valid_from,
            on=on,
        )
    if permission.valid_to is not None and on > permission.valid_to:
        return _decision(
            "PERMISSION_EXPIRED", direction=direction, item=item, valid_to=permission.valid_to, on=on
        )
    if not _same_department(department, permission.department):
        return _decision(
            "COUNTERPARTY_MISMATCH",
            direction=direction,
            item=item,
            given=_shown(department),
            expected=_shown(permission.department),
        )
    if not requested:
        return _decision("NO_ITEMS_REQUESTED", direction=direction, item=item)
    refused = _refused(requested, frozenset(permission.items))
    if refused:
        return _decision("ITEM_NOT_PERMITTED", direction=direction, item=item, refused=refused)
    if permission.used_by_other_request:
        return _decision("PERMISSION_ALREADY_USED", direction=direction, item=item)
    failure, basis = _basis_on(item, direction, on)
    if basis is None:
        return _decision(failure or "UNKNOWN_BASIS", direction=direction, item=item, on=on)
    if not basis.accepts(permission.department):
        return _decision(
            "COUNTERPARTY_MISMATCH",
            direction=direction,
            item=item,
            basis=basis,
            given=_shown(permission.department),
        )
    denied = _check_items(requested, basis.items, direction=direction, item=item, basis=basis)
    if denied is not None:
        return denied
    return _decision("TRANSFERRED", direction=direction, item=item, basis=basis)


def decide_transferred_person(page: Decision, subject: SubjectFacts) -> Decision:
    """One person of a transfer page ``page`` allowed: SUBJECT_SUSPENDED under a suspension (利用停止),
    PENDING_REVIEW when flagged 自動応答不可 (a flagged person is never transferred without review), else
    ``page`` itself."""
    if not page.allowed:
        return page
    item = page.basis.item if page.basis is not None else ""
    if subject.suspended:
        return _decision("SUBJECT_SUSPENDED", direction=Direction.TRANSFER, item=item, basis=page.basis)
    if subject.no_automatic_response:
        why_ja, why_en = _WHY["flagged"]
        return _decision(
            "PENDING_REVIEW",
            direction=Direction.TRANSFER,
            item=item,
            basis=page.basis,
            needs_review=True,
            why_ja=why_ja,
            why_en=why_en,
        )
    return page


# ---------------------------------------------------------------------------------------------------
# Inquiry (情報照会) and use (利用)
# ---------------------------------------------------------------------------------------------------


def decide_inquiry(
    item: str,
    provider: str,
    requested_items: Iterable[str],
    permit_number: str | None,
    on: date,
) -> Decision:
    """May the city ask ``provider`` for ``requested_items`` under ``item`` (別表第2 93 or 94) on ``on``?

    Checks, in order: the item has an inquiry entry (UNKNOWN_BASIS — any item but 93 and 94) in force
    on ``on`` (BASIS_NOT_IN_FORCE); ``provider`` is a registered body of the entry's counterparty
    (COUNTERPARTY_MISMATCH); items requested and permitted, each from this provider (NO_ITEMS_REQUESTED,
    ITEM_NOT_PERMITTED: 地方税 from a municipality, 年金 from a pension payer); a 情報提供許可証 number was given (PERMIT_REQUIRED: the network issues it after
    matching the request against the 照会許可用照合リスト, III-6 リスク1 ①). Then INQUIRY_ALLOWED.
    """
    direction = Direction.INQUIRY
    requested = _requested(requested_items)
    failure, basis = _basis_on(item, direction, on)
    if basis is None:
        return _decision(failure or "UNKNOWN_BASIS", direction=direction, item=item, on=on)
    if not basis.accepts(provider):
        return _decision(
            "COUNTERPARTY_MISMATCH", direction=direction, item=item, basis=basis, given=_shown(provider)
        )
    from_provider = frozenset(i for i in basis.items if basis.provides(provider, i))
    denied = _check_items(requested, from_provider, direction=direction, item=item, basis=basis)
    if denied is not None:
        return denied
    if permit_number is None or not permit_number.strip():
        return _decision("PERMIT_REQUIRED", direction=direction, item=item, basis=basis)
    return _decision("INQUIRY_ALLOWED", direction=direction, item=item, basis=basis)


def decide_use(item: str, on: date) -> Decision:
    """May the individual number be used on ``on`` under ``item`` of 別表第1 (68)?

    UNKNOWN_BASIS for any other item, BASIS_NOT_IN_FORCE outside its validity, else USE_ALLOWED.
    Who may use it is the roles' business (``number_use`` duty, roles.toml), not this function's.
    """
    direction = Direction.USE
    failure, basis = _basis_on(item, direction, on)
    if basis is None:
        return _decision(failure or "UNKNOWN_BASIS", direction=direction, item=item, on=on)
    return _decision("USE_ALLOWED", direction=direction, item=item, basis=basis)


# ---------------------------------------------------------------------------------------------------
# Retention of provision records (情報提供等記録)
# ---------------------------------------------------------------------------------------------------

RETENTION_YEARS: Final = 7
"""Years a provision record (情報提供等記録) is kept, counted from its record date.

Source: DOMAIN.md §7 (「every inquiry/provision leaves a provision record …, kept 7 years」); the seed names
the intermediate server's 「情報提供等記録管理機能」 and 「保管期限切れ情報の削除を行う機能」 (I-2 システム3 ⑤ ⑩)
without the period. The 7 years are recalled from 番号法施行令 (the retention period of 情報提供等記録),
unverified against the text.
"""


def purge_before(today: date) -> date:
    """The first record date still kept on ``today``: records dated before it are purged.

    A record is kept on the 7th anniversary of its date and purged from the next day. A record of
    29 February has its anniversary on 28 February in a common year (the period ends at the end of
    the month); on 29 February of a leap year the cut is 1 March seven years before.
    """
    year = today.year - RETENTION_YEARS
    try:
        return today.replace(year=year)
    except ValueError:  # 29 February, RETENTION_YEARS earlier is a common year
        return date(year, 3, 1)


def is_purgeable(record_date: date, today: date) -> bool:
    """Whether a record dated ``record_date`` is older than the retention period on ``today``."""
    return record_date < purge_before(today)
