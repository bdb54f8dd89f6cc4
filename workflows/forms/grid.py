"""How a list of row forms is laid out on the task page: grouped by dimension, labelled per row, with totals.

Rendering only: nothing here validates. The server's checks (scores within the weight, a reason below full
marks) stay the authority; the min/max given to score inputs are hints for the browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from wtforms import FieldList, Form, FormField

from models.i18n import lazy_gettext as _l

# Columns shown as text in the group heading instead of in every row, when rows are grouped by indicator.
HEADING_COLUMNS = {"code"}
# Long text columns get room to breathe.
WIDE_COLUMNS = {"indicator", "reported", "reason", "narrative", "note", "advice", "summary", "completion"}
# Short values need little room, so the long ones get more.
NARROW_COLUMNS = {"code", "unit", "city"}


@dataclass(frozen=True)
class IndicatorInfo:
    """What a grid needs to know about an indicator: its place in the tree and its weight."""

    code: str
    name: str
    weight: Decimal
    dimension_key: str
    dimension: str
    key_point: str


@dataclass
class GridRow:
    entry: Any  # the FormField of the row
    index: int
    subject: str  # names the row for screen readers: "I001 GDP growth, Shenyang"
    indicator: IndicatorInfo | None = None
    city: str | None = None
    attrs: dict[str, dict[str, Any]] = field(default_factory=dict)  # per column: extra input attributes


@dataclass
class GridSection:
    """Rows under one heading: an indicator (score grids) or nothing (rows that name their indicator)."""

    indicator: IndicatorInfo | None
    rows: list[GridRow] = field(default_factory=list)


@dataclass
class GridGroup:
    key: str
    title: str | None
    sections: list[GridSection] = field(default_factory=list)
    max_total: Decimal = Decimal(0)

    @property
    def row_count(self) -> int:
        return sum(len(s.rows) for s in self.sections)


@dataclass
class Grid:
    name: str
    label: str
    columns: list[tuple[str, str]]  # (field short name, header) shown as columns
    hidden: list[str]  # columns rendered inside the first cell (their hidden inputs still post)
    groups: list[GridGroup]
    score_column: str | None = None  # totals are summed over this column
    progress_column: str | None = None  # or filled cells of this column are counted
    city_totals: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)  # city, sum, max
    by_indicator: bool = False

    def is_wide(self, name: str) -> bool:
        return name in WIDE_COLUMNS

    def cell_class(self, name: str) -> str:
        return "grid-wide" if name in WIDE_COLUMNS else "grid-narrow" if name in NARROW_COLUMNS else ""

    @property
    def column_count(self) -> int:
        return len(self.columns)

    def dimension_total(self, group: GridGroup) -> Decimal:
        if not self.score_column:
            return Decimal(0)
        rows = (r for s in group.sections for r in s.rows)
        return sum((_number(r.entry.form[self.score_column].data) for r in rows), Decimal(0))

    def dimension_filled(self, group: GridGroup) -> int:
        if not self.progress_column:
            return 0
        rows = (r for s in group.sections for r in s.rows)
        return sum(1 for r in rows if str(r.entry.form[self.progress_column].data or "").strip())


def _number(value: Any) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def _value(form: Form, name: str) -> str | None:
    inner = form._fields.get(name)
    return str(inner.data).strip() if inner is not None and inner.data not in (None, "") else None


def points(value: Decimal) -> str:
    """A weight without trailing zeros: 10, 2.5."""
    return format(value.normalize(), "f")


def layout(field_list: FieldList, indicators: dict[str, IndicatorInfo] | None = None) -> Grid | None:
    """The layout of a list of row forms, or None when its entries are not row forms."""
    entries = list(field_list.entries)
    if not entries or not isinstance(entries[0], FormField):
        return None
    indicators = indicators or {}
    first = entries[0].form
    names = [f.short_name for f in first if f.short_name != "csrf_token"]
    known = [e for e in entries if _value(e.form, "code") in indicators]
    grouped = bool(indicators) and "code" in names and len(known) == len(entries)
    by_indicator = grouped and "city" in names
    hidden = [n for n in names if by_indicator and n in HEADING_COLUMNS]
    columns = [(n, str(first[n].label.text)) for n in names if n not in hidden]
    score_column = "score" if "score" in names and grouped else None
    progress_column = "completion" if "completion" in names and grouped else None

    groups: list[GridGroup] = []
    by_key: dict[str, GridGroup] = {}
    city_sums: dict[str, list[Decimal]] = {}
    for index, entry in enumerate(entries):
        form = entry.form
        info = indicators.get(_value(form, "code") or "") if grouped else None
        city = _value(form, "city")
        key = info.dimension_key if info else ""
        group = by_key.get(key)
        if group is None:
            group = by_key[key] = GridGroup(key=key, title=info.dimension if info else None)
            groups.append(group)
        if by_indicator and (not group.sections or group.sections[-1].indicator != info):
            group.sections.append(GridSection(indicator=info))
        elif not group.sections:
            group.sections.append(GridSection(indicator=None))
        if info is not None:
            subject = f"{info.code} {info.name}" + (f", {city}" if city else "")
        elif city:
            subject = city
        else:
            subject = str(_l("Row %(n)d", n=index + 1))
        row = GridRow(entry=entry, index=index, subject=subject, indicator=info, city=city)
        for name, label in columns:
            attrs: dict[str, Any] = {"aria-label": f"{label}, {subject}", "data-grid-col": name}
            if name == score_column and info is not None:
                attrs.update(
                    {
                        "type": "number",
                        "inputmode": "decimal",
                        "step": "0.01",
                        "min": "0",
                        "max": points(info.weight),
                        "data-grid-score": "",
                        "data-city": city or "",
                        "data-dimension": key,
                    }
                )
            elif name == progress_column:
                attrs.update({"data-grid-progress": "", "data-dimension": key})
            row.attrs[name] = attrs
        group.sections[-1].rows.append(row)
        if info is not None:
            group.max_total += info.weight
            if score_column and city:
                sums = city_sums.setdefault(city, [Decimal(0), Decimal(0)])
                sums[0] += _number(form[score_column].data)
                sums[1] += info.weight
    return Grid(
        name=field_list.name,
        label=str(field_list.label.text),
        columns=columns,
        hidden=hidden,
        groups=groups,
        score_column=score_column,
        progress_column=progress_column,
        city_totals=[(city, s, m) for city, (s, m) in city_sums.items()],
        by_indicator=by_indicator,
    )


def row_codes(form: Form) -> set[str]:
    """The indicator codes the form's grid rows name."""
    codes = set()
    for f in form:
        if isinstance(f, FieldList):
            for entry in f.entries:
                if isinstance(entry, FormField) and "code" in entry.form._fields:
                    codes.add(str(entry.form.code.data or ""))
    return codes


def layouts(form: Form, indicators: dict[str, IndicatorInfo] | None = None) -> dict[str, Grid]:
    """Every list of row forms in the form, by field name."""
    out = {}
    for f in form:
        if isinstance(f, FieldList):
            grid = layout(f, indicators)
            if grid is not None:
                out[f.name] = grid
    return out
