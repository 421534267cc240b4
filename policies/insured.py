"""資格 — who is insured, from when, until when: the rules the resident register's moves drive
(介護保険法 §9–§13), from ``data/insured.toml``.

Pure: dates in, decisions out. A move of the register (転入, 転出, 死亡 …) is first checked against the
person as the file knows them (:func:`refusal`: what staff must look at instead), then turned into its
effect on the person's resident status (:func:`status_after`) and qualification (:func:`effect_of`);
:func:`age_arrival` is the daily 年齢到達.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

__all__ = [
    "ACTIVE_STATUSES",
    "Effect",
    "FeedKind",
    "Insured",
    "InsuredRules",
    "age_arrival",
    "age_on",
    "effect_of",
    "reaches_age",
    "refusal",
    "rules",
    "status_after",
]

# 住民区分 codes (policies/data/codes.toml [resident_status])
RESIDENT: Final = "1"
FOREIGN_RESIDENT: Final = "2"
MOVED_OUT: Final = "3"
DECEASED: Final = "4"
NON_RESIDENT: Final = "5"  # 住登外: e.g. insured here under 住所地特例 while living elsewhere
ACTIVE_STATUSES: Final = frozenset({RESIDENT, FOREIGN_RESIDENT})

# 資格異動事由 codes ([qualification_event])
ACQUIRED_AGE: Final = "11"
ACQUIRED_MOVE_IN: Final = "12"
LOST_DEATH: Final = "21"
LOST_MOVE_OUT: Final = "22"
CATEGORY_CHANGE: Final = "31"
ADDRESS_CHANGE: Final = "32"
DOMICILE_EXCEPTION_START: Final = "33"
DOMICILE_EXCEPTION_END: Final = "34"
FIRST: Final = "1"
SECOND: Final = "2"

Action = Literal[
    "ACQUIRE",
    "LOSE",
    "CATEGORY_CHANGE",
    "ADDRESS_CHANGE",
    "DOMICILE_EXCEPTION_START",
    "DOMICILE_EXCEPTION_END",
    "EXEMPT",
    "NONE",
]
Refusal = Literal[
    "UNKNOWN_PERSON", "ALREADY_KNOWN", "ALREADY_RESIDENT", "NOT_RESIDENT", "DECEASED", "OUT_OF_ORDER"
]


@dataclass(frozen=True)
class FeedKind:
    """One kind of change of the resident register's daily feed."""

    name: str
    ja: str
    move_reason: str
    creates: bool  # may name a person the file does not know yet


@dataclass(frozen=True)
class InsuredRules:
    first_category_age: int
    second_category_from_age: int
    days_after_move_out: int
    days_after_death: int
    kinds: Mapping[str, FeedKind]


def _int(table: Mapping[str, Any], key: str, where: str) -> int:
    value = table.get(key)
    if type(value) is not int or value < 0:
        raise ValueError(f"insured.toml {where}: '{key}' must be a non-negative integer")
    return value


def load_rules(text: str) -> InsuredRules:
    raw = tomllib.loads(text)
    cited = {"acquisition": "on_move_in"}
    for section in (
        "first_category",
        "second_category",
        "age_arrival",
        "acquisition",
        "loss",
        "domicile_exception",
    ):
        spec = raw.get(section, {})
        if not str(spec.get(cited.get(section, "law"), "")).strip() or not isinstance(
            spec.get("verified"), bool
        ):
            raise ValueError(f"insured.toml [{section}] cites no law or says nothing of `verified`")
    kinds = {
        name: FeedKind(name, spec["ja"], str(spec["move_reason"]), bool(spec["creates"]))
        for name, spec in raw["feed"]["kinds"].items()
    }
    return InsuredRules(
        first_category_age=_int(raw["first_category"], "age", "first_category"),
        second_category_from_age=_int(raw["second_category"], "from_age", "second_category"),
        days_after_move_out=_int(raw["loss"], "days_after_move_out", "loss"),
        days_after_death=_int(raw["loss"], "days_after_death", "loss"),
        kinds=kinds,
    )


@cache
def rules() -> InsuredRules:
    """The packaged rules; read once per process."""
    return load_rules(resources.files("policies").joinpath("data/insured.toml").read_text(encoding="utf-8"))


# --- age arithmetic (年齢計算ニ関スル法律) -------------------------------------------------------------


def _anniversary(birth: date, years: int) -> date:
    """The ``years``-th birthday; a 29 February birth has its birthday on 1 March in common years."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def reaches_age(birth: date, age: int) -> date:
    """The day one reaches ``age``: the day before the birthday (for 29 February, 28 February in a
    common year)."""
    return _anniversary(birth, age) - timedelta(days=1)


def age_on(birth: date, day: date) -> int:
    """Age in completed years on ``day`` (reached on the eve of each birthday)."""
    later = day + timedelta(days=1)
    return later.year - birth.year - ((later.month, later.day) < (birth.month, birth.day))


# --- the register's moves ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Insured:
    """A person's qualification as these rules need it."""

    category: str
    acquired_on: date
    lost_on: date | None
    domicile_exception: bool

    def active_on(self, day: date) -> bool:
        return self.acquired_on <= day and (self.lost_on is None or self.lost_on > day)

    @property
    def active(self) -> bool:
        """Not lost (whatever the day): what a move acts on."""
        return self.lost_on is None


@dataclass(frozen=True)
class Effect:
    """What a change does to the qualification: ``action`` on ``on`` with 資格異動事由 ``reason``.
    ``note`` says why nothing happens when the law leaves the decision to something else."""

    action: Action
    on: date | None = None
    reason: str | None = None
    category: str | None = None
    note: str | None = None


NONE: Final = Effect("NONE")


def refusal(
    kind: FeedKind, *, status: str | None, last_moved_on: date | None, moved_on: date
) -> Refusal | None:
    """Why a change cannot be applied as it stands (staff review it), or None.

    ``status``: the person's 住民区分, None when the file does not know the addressee code.
    """
    if status is None:
        return None if kind.creates else "UNKNOWN_PERSON"
    if kind.name == "BIRTH":
        return "ALREADY_KNOWN"
    if status == DECEASED:
        return "DECEASED"
    if kind.name == "MOVE_IN":
        if status in ACTIVE_STATUSES:
            return "ALREADY_RESIDENT"
    elif status not in ACTIVE_STATUSES:
        return "NOT_RESIDENT"
    if last_moved_on is not None and moved_on < last_moved_on:
        return "OUT_OF_ORDER"  # the register corrected an earlier move (訂正): a person decides
    return None


def status_after(kind: FeedKind, *, current: str | None, foreign: bool, effect: Effect) -> str:
    """The person's 住民区分 after the change."""
    if kind.name in ("MOVE_IN", "BIRTH"):
        return FOREIGN_RESIDENT if foreign else RESIDENT
    if kind.name == "DEATH":
        return DECEASED
    if kind.name == "MOVE_OUT":
        # still insured here under 住所地特例 while living in a facility elsewhere: 住登外
        return (
            NON_RESIDENT
            if effect.action == "DOMICILE_EXCEPTION_START" or current == NON_RESIDENT
            else MOVED_OUT
        )
    assert current is not None
    return current


def effect_of(
    kind: FeedKind, *, birth: date, moved_on: date, insured: Insured | None, facility: bool
) -> Effect:
    """The qualification change a register move makes (介護保険法 §10, §11, §13).

    ``facility``: the new address is a facility under 住所地特例 (the register line names its
    事業所番号): moving out into one keeps the person insured here; moving in into one from another
    city leaves them insured there.
    """
    r = rules()
    active = insured is not None and insured.active
    if kind.name == "MOVE_IN":
        if active:
            return Effect("ADDRESS_CHANGE", moved_on, ADDRESS_CHANGE)
        if facility:
            return Effect("NONE", note="DOMICILE_EXCEPTION_OF_ANOTHER_INSURER")
        if age_on(birth, moved_on) >= r.first_category_age:
            return Effect("ACQUIRE", moved_on, ACQUIRED_MOVE_IN, FIRST)
        return Effect("NONE", note="UNDER_FIRST_CATEGORY_AGE")
    if not active:
        return NONE
    assert insured is not None
    if kind.name == "MOVE_WITHIN":
        return Effect("ADDRESS_CHANGE", moved_on, ADDRESS_CHANGE)
    if kind.name == "DEATH":
        return Effect("LOSE", moved_on + timedelta(days=r.days_after_death), LOST_DEATH)
    if kind.name == "MOVE_OUT":
        after = moved_on + timedelta(days=r.days_after_move_out)
        if insured.domicile_exception:
            return Effect("NONE", note="DOMICILE_EXCEPTION_KEPT")
        if facility:
            return Effect("DOMICILE_EXCEPTION_START", after, DOMICILE_EXCEPTION_START)
        return Effect("LOSE", after, LOST_MOVE_OUT)
    return NONE


def age_arrival(birth: date, *, on: date, insured: Insured | None, resident_since: date | None) -> Effect:
    """年齢到達 as of ``on``: a resident of 65 or more who is not insured acquires the first category on
    the day they reached 65 (or the day they came, if later); a second-category insured person turns
    first-category that day."""
    age = rules().first_category_age
    reached = reaches_age(birth, age)
    if reached > on:
        return NONE
    if insured is None:
        acquired = max(reached, resident_since) if resident_since is not None else reached
        reason = ACQUIRED_AGE if acquired == reached else ACQUIRED_MOVE_IN
        return Effect("ACQUIRE", acquired, reason, FIRST)
    if insured.active and insured.category == SECOND:
        return Effect("CATEGORY_CHANGE", max(reached, insured.acquired_on), CATEGORY_CHANGE, FIRST)
    return NONE
