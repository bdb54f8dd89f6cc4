"""The rules an indicator system must satisfy before it can be submitted, approved or imported.

Works on plain rows so the editor, the Excel import and the workflow forms share one set of rules
and one set of messages; each problem names the indicator (or tier) and the rule.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from models.i18n import lazy_gettext as _l

TOTAL = Decimal(1000)
SHOWN = 40  # characters of a code or name a message quotes (an imported cell may be thousands long)


def _shown(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


@dataclass(frozen=True)
class IndicatorRow:
    code: str
    name: str
    weight: Decimal | str | None
    key_point: int | None  # the key point's number in the year
    owner: str | None  # lead owner department code
    co_owners: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    subject: str  # the indicator code, or "key point 12", or "" for the whole system
    rule: str  # a short rule code: weight_total, weight_positive, key_point, owner, ...
    message: str


@dataclass
class SystemCheck:
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, subject: str, rule: str, message: object) -> None:
        self.problems.append(Problem(subject, rule, str(message)))


def as_weight(value: Any) -> Decimal | None:
    try:
        weight = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return weight if weight.is_finite() else None


def check_system(
    indicators: list[IndicatorRow],
    key_points: set[int],
    departments: set[str],
    total: Decimal = TOTAL,
) -> SystemCheck:
    """Every rule at once: weights total exactly `total`, each weight positive with at most 2 decimals,
    each indicator under exactly one existing key point with one lead owner department (co-owners
    allowed, distinct from the lead), codes and names unique, every key point has an indicator."""
    check = SystemCheck()
    codes = Counter(i.code for i in indicators)
    names = Counter(i.name.strip() for i in indicators)
    weights: list[Decimal] = []
    for ind in indicators:
        subject = ind.code or "?"
        code = _shown(subject)  # as the messages quote it
        if not ind.code or not ind.code.strip():
            check.add(subject, "code", _l("Every indicator needs a code."))
        elif codes[ind.code] > 1:
            check.add(
                subject, "code_unique", _l("Indicator code %(code)s is used more than once.", code=code)
            )
        if not ind.name or not ind.name.strip():
            check.add(subject, "name", _l("Indicator %(code)s needs a name.", code=code))
        elif names[ind.name.strip()] > 1:
            check.add(
                subject,
                "name_unique",
                _l(
                    "Indicator %(code)s: the name “%(name)s” is used more than once.",
                    code=code,
                    name=_shown(ind.name),
                ),
            )
        weight = as_weight(ind.weight)
        if weight is None:
            check.add(
                subject, "weight_number", _l("Indicator %(code)s: the weight must be a number.", code=code)
            )
        elif weight <= 0:
            check.add(
                subject,
                "weight_positive",
                _l("Indicator %(code)s: the weight must be greater than 0.", code=code),
            )
        elif weight != weight.quantize(Decimal("0.01")):
            check.add(
                subject,
                "weight_precision",
                _l("Indicator %(code)s: the weight may have at most 2 decimals.", code=code),
            )
        else:
            weights.append(weight)
        if ind.key_point is None:
            check.add(subject, "key_point", _l("Indicator %(code)s must sit under a key point.", code=code))
        elif ind.key_point not in key_points:
            check.add(
                subject,
                "key_point",
                _l("Indicator %(code)s: there is no key point %(n)s.", code=code, n=ind.key_point),
            )
        if not ind.owner:
            check.add(subject, "owner", _l("Indicator %(code)s needs one lead owner department.", code=code))
        elif ind.owner not in departments:
            check.add(
                subject,
                "owner",
                _l(
                    "Indicator %(code)s: %(owner)s is not an evaluating department.",
                    code=code,
                    owner=_shown(ind.owner),
                ),
            )
        for co in ind.co_owners:
            if co == ind.owner:
                check.add(
                    subject,
                    "co_owner",
                    _l("Indicator %(code)s: the lead owner cannot also be a co-owner.", code=code),
                )
            elif co not in departments:
                check.add(
                    subject,
                    "co_owner",
                    _l(
                        "Indicator %(code)s: co-owner %(owner)s is not an evaluating department.",
                        code=code,
                        owner=_shown(co),
                    ),
                )
    used = {i.key_point for i in indicators}
    for number in sorted(key_points - used):
        check.add(f"key point {number}", "key_point_empty", _l("Key point %(n)d has no indicator.", n=number))
    if len(weights) == len(indicators):
        summed = sum(weights, Decimal(0))
        if summed != total:
            check.add(
                "",
                "weight_total",
                _l("The weights total %(sum)s, not %(total)s.", sum=_plain(summed), total=_plain(total)),
            )
    return check


def _plain(value: Decimal) -> str:
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".")
