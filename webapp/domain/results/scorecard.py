"""The scorecard conventions of the results pages: a status against thresholds, rank changes between rounds.

A score's status is its ratio to the most it could be (score / weight; a total / the maximum total): at least
`GOOD_AT` is on track (green), at least `WATCH_AT` needs attention (amber), below that is off track (red).
These two constants are the only place the thresholds live; pages show them in a legend (`legend()`) and
never by colour alone (each status has its icon and its title too). Pure functions: no database.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from decimal import Decimal

from models.evaluation import RoundKind
from models.i18n import gettext as _
from models.i18n import ngettext

GOOD_AT = Decimal("0.95")  # score / weight at or above: on track
WATCH_AT = Decimal("0.80")  # at or above (and below GOOD_AT): needs attention; below: off track
ANNUAL = "annual"
# The order results follow through a year: each is compared with the one before it.
VIEW_ORDER: tuple[str, ...] = (*(k.value for k in RoundKind), ANNUAL)


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).normalize():f}"


class Status(enum.StrEnum):
    GOOD = "good"
    WATCH = "watch"
    POOR = "poor"

    @property
    def title(self) -> str:  # type: ignore[override]  # a name for people, not str.title()
        titles = {Status.GOOD: _("On track"), Status.WATCH: _("Needs attention"), Status.POOR: _("Off track")}
        return titles[self]

    @property
    def rule(self) -> str:
        """The threshold, as the legend says it."""
        good, watch = _percent(GOOD_AT), _percent(WATCH_AT)
        if self is Status.GOOD:
            return _("%(low)s%% of the maximum or more", low=good)
        if self is Status.WATCH:
            return _("%(low)s%% to under %(high)s%%", low=watch, high=good)
        return _("under %(high)s%%", high=watch)

    @property
    def tone(self) -> str:
        """The Bootstrap contextual name (table-…, text-…)."""
        return {Status.GOOD: "success", Status.WATCH: "warning", Status.POOR: "danger"}[self]

    @property
    def color(self) -> str:
        """The chart colour: Bootstrap's colour of the same tone."""
        return {Status.GOOD: "#198754", Status.WATCH: "#ffc107", Status.POOR: "#dc3545"}[self]

    @property
    def icon(self) -> str:
        """A Bootstrap icon of a different shape for each status, so colour is never the only sign."""
        return {
            Status.GOOD: "bi-check-circle-fill",
            Status.WATCH: "bi-exclamation-triangle-fill",
            Status.POOR: "bi-x-octagon-fill",
        }[self]


def status_of_ratio(ratio: Decimal) -> Status:
    if ratio >= GOOD_AT:
        return Status.GOOD
    if ratio >= WATCH_AT:
        return Status.WATCH
    return Status.POOR


def status_of(score: Decimal | int | str, maximum: Decimal | int | str) -> Status:
    """The status of a score against the most it could be (an indicator's weight, a round's maximum total)."""
    maximum = Decimal(maximum)
    if maximum <= 0:  # nothing to lose: on track
        return Status.GOOD
    return status_of_ratio(Decimal(score) / maximum)


def status_of_share(percent: Decimal) -> Status:
    """The status of a share already given in percent (a dimension's score / weight × 100)."""
    return status_of_ratio(Decimal(percent) / 100)


def legend() -> list[Status]:
    return list(Status)


# --- rank changes -----------------------------------------------------------------------------------------


def previous_view(view: str, available: Sequence[str]) -> str | None:
    """The result set before `view` in the year's order (half-year → Q3 → year-end → annual) among those
    available; None for the first."""
    earlier = [k for k in VIEW_ORDER[: VIEW_ORDER.index(view)] if k in available]
    return earlier[-1] if earlier else None


def rank_changes(previous: Mapping[str, int] | None, current: Mapping[str, int]) -> dict[str, int | None]:
    """Places each city moved since the previous ranking (positive: up); None without an earlier rank."""
    if previous is None:
        return dict.fromkeys(current)
    return {city: (previous[city] - rank if city in previous else None) for city, rank in current.items()}


def ranks_of(results: Mapping[str, object]) -> dict[str, int]:
    """City → rank of stored results (a round's or the year's)."""
    cities = results["cities"]
    assert isinstance(cities, list)
    return {entry["city"]: int(entry["rank"]) for entry in cities}


def changes_by_view(stored: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, int | None]]:
    """Each result set's rank changes against the one before it in the year's order."""
    available = list(stored)
    out: dict[str, dict[str, int | None]] = {}
    for view, data in stored.items():
        before = previous_view(view, available)
        out[view] = rank_changes(ranks_of(stored[before]) if before else None, ranks_of(data))
    return out


def change_text(places: int | None) -> str:
    """↑2, ↓1, — (unchanged), or "" without an earlier rank: the arrow as the pages and the workbook show it."""
    if places is None:
        return ""
    if places > 0:
        return f"↑{places}"
    if places < 0:
        return f"↓{-places}"
    return "—"


def change_title(places: int | None) -> str:
    """The change in words, for screen readers and tooltips."""
    if places is None:
        return _("No earlier ranking")
    if places > 0:
        return ngettext("Up %(num)d place", "Up %(num)d places", places)
    if places < 0:
        return ngettext("Down %(num)d place", "Down %(num)d places", -places)
    return _("Rank unchanged")
