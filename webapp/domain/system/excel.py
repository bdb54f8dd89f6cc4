"""A year's indicator system as an Excel workbook: export it, and import the same format back.

The first sheet, 指标体系, holds the whole tree, one row per indicator with subtotal rows after
each key point, level and dimension; one more sheet per dimension is there for people to read.
The import reads only 指标体系, collects every problem before it decides, and replaces the year's
tiers and indicators only when there is none (flush only: the caller commits).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import String, select

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit
from models.rules.indicator_system import IndicatorRow, Problem, as_weight, check_system
from models.scheme import Dimension, Indicator, IndicatorCoOwner, KeyPoint, Level, SchemeYear
from webapp.domain import sheets
from webapp.domain.errors import WorkbookInvalid
from webapp.domain.numbers import plain
from webapp.domain.sheets import Problems, RowError, cell_text, header_columns, read_sheet
from webapp.domain.system.queries import Subtotals, load_dimensions, subtotals
from webapp.numbering import chinese_numeral

SHEET = "指标体系"
# (header, column width in characters), in the sheet's order
COLUMNS = (
    ("维度", 14),
    ("层面", 16),
    ("要点编号", 10),
    ("考评要点", 20),
    ("指标编号", 10),
    ("考评指标", 44),
    ("分值", 8),
    ("单位", 10),
    ("牵头部门", 20),
    ("协办部门", 28),
    ("考评细则", 60),
)
HEADERS = tuple(header for header, _width in COLUMNS)
WIDTHS = dict(COLUMNS)
DIMENSION, LEVEL, KP_NUMBER, KP_NAME, CODE, NAME, WEIGHT, UNIT, OWNER, CO_OWNERS, RULE = HEADERS
WRAPPED = {KP_NAME, NAME, CO_OWNERS, RULE}
SUBTOTAL, TOTAL = "小计", "合计"
CO_OWNER_SEPARATOR = "、"

_SUBTOTAL_FONT = Font(bold=True)
_SUBTOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_NUMERAL = "一二三四五六七八九十百零〇0-9"
_DIMENSION_PREFIX = re.compile(rf"^[{_NUMERAL}]+\s*[、.．]\s*")
_LEVEL_PREFIX = re.compile(rf"^[（(]\s*[{_NUMERAL}]+\s*[）)]\s*")
_KEY_POINT_SUBTOTAL = re.compile(rf"^{SUBTOTAL}\s*[：:]\s*(\d+)\s*[.．、]")
_CO_OWNER_SPLIT = re.compile(r"[、,，;；\n]")

# Which cell a rule of models.rules.indicator_system is about.
RULE_COLUMNS = {
    "code": CODE,
    "code_unique": CODE,
    "name": NAME,
    "name_unique": NAME,
    "weight_number": WEIGHT,
    "weight_positive": WEIGHT,
    "weight_precision": WEIGHT,
    "key_point": KP_NUMBER,
    "owner": OWNER,
    "co_owner": CO_OWNERS,
    "weight_total": WEIGHT,
}
# The database's limits, checked up front so that no row fails at flush time (PostgreSQL enforces them).
MAX_LENGTHS = {
    header: cast(String, column.type).length or 0
    for header, column in (
        (DIMENSION, Dimension.__table__.c.name),
        (LEVEL, Level.__table__.c.name),
        (KP_NAME, KeyPoint.__table__.c.name),
        (CODE, Indicator.__table__.c.code),
        (NAME, Indicator.__table__.c.name),
        (UNIT, Indicator.__table__.c.unit),
    )
}
# Rules that compare rows with each other; the others are checked one row at a time.
CROSS_ROW_RULES = frozenset({"code_unique", "name_unique", "key_point_empty", "weight_total"})


@dataclass(frozen=True)
class ImportSummary:
    dimensions: int
    levels: int
    key_points: int
    indicators: int


# ---------------------------------------------------------------- export


@dataclass(frozen=True)
class _Line:
    values: tuple[Any, ...]
    subtotal: bool = False


def export_workbook(scheme_year: SchemeYear) -> bytes:
    """The year's system as .xlsx bytes: the whole tree first, then one sheet per dimension."""
    dimensions = load_dimensions(scheme_year)
    sums = subtotals(dimensions)
    blocks = [_dimension_lines(d, sums) for d in dimensions]
    workbook = Workbook()
    main = cast(Worksheet, workbook.active)
    main.title = SHEET
    _write_sheet(main, [line for block in blocks for line in block] + [_subtotal(TOTAL, sums.total)])
    taken = {SHEET.casefold()}
    for dimension, block in zip(dimensions, blocks, strict=True):
        _write_sheet(workbook.create_sheet(sheets.sheet_title(_dimension_label(dimension), taken)), block)
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _dimension_label(dimension: Dimension) -> str:
    return f"{chinese_numeral(dimension.number)}、{dimension.name}"


def _level_label(level: Level) -> str:
    return f"（{chinese_numeral(level.number)}）{level.name}"


def _dimension_lines(dimension: Dimension, sums: Subtotals) -> list[_Line]:
    lines: list[_Line] = []
    for level in dimension.levels:
        for point in level.key_points:
            lines.extend(_indicator_line(dimension, level, point, i) for i in point.indicators)
            lines.append(_subtotal(f"{SUBTOTAL}：{point.number}. {point.name}", sums.key_points[point.id]))
        lines.append(_subtotal(f"{SUBTOTAL}：{_level_label(level)}", sums.levels[level.id]))
    lines.append(_subtotal(f"{SUBTOTAL}：{_dimension_label(dimension)}", sums.dimensions[dimension.id]))
    return lines


def _indicator_line(dimension: Dimension, level: Level, point: KeyPoint, indicator: Indicator) -> _Line:
    co_owners = CO_OWNER_SEPARATOR.join(o.short_name for o in indicator.co_owners)
    return _Line(
        (
            _dimension_label(dimension),
            _level_label(level),
            point.number,
            point.name,
            indicator.code,
            indicator.name,
            plain(indicator.weight),
            indicator.unit,
            indicator.owner.short_name,
            co_owners,
            indicator.scoring_rule,
        )
    )


def _subtotal(label: str, weight: Decimal) -> _Line:
    values: list[Any] = [None] * len(HEADERS)
    values[HEADERS.index(NAME)] = label
    values[HEADERS.index(WEIGHT)] = plain(weight)
    return _Line(tuple(values), subtotal=True)


def _write_sheet(sheet: Worksheet, lines: Sequence[_Line]) -> None:
    sheet.append(HEADERS)
    sheets.style_header(sheet[1])
    for line in lines:
        sheet.append(line.values)
        _style_row(sheet[sheet.max_row], line.subtotal)
    for index, header in enumerate(HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS[header]
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"


def _style_row(cells: Sequence[Any], subtotal: bool) -> None:
    for header, cell in zip(HEADERS, cells, strict=True):
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"  # text, never a formula: names and rules come from users
        if header == WEIGHT:
            cell.number_format = "0" if isinstance(cell.value, int) else "0.##"
        if header in WRAPPED:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        if subtotal:
            cell.font, cell.fill = _SUBTOTAL_FONT, _SUBTOTAL_FILL


# ---------------------------------------------------------------- import


@dataclass
class _Row:
    """One indicator row as read from the sheet."""

    excel_row: int
    dimension: str
    level: str
    key_point: int | None
    key_point_name: str
    code: str
    name: str
    weight: Decimal | None
    weight_text: str
    unit: str
    owner: OrgUnit | None
    owner_text: str
    co_owners: list[OrgUnit]
    scoring_rule: str

    def rule_row(self) -> IndicatorRow:
        return IndicatorRow(
            code=self.code,
            name=self.name,
            weight=self.weight if self.weight is not None else self.weight_text,
            key_point=self.key_point,
            owner=self.owner.code if self.owner else self.owner_text or None,
            co_owners=tuple(o.code for o in self.co_owners),
        )


@dataclass
class _Sheet:
    """What the import keeps of the sheet besides the indicator rows."""

    rows: list[_Row] = field(default_factory=list)
    key_point_subtotals: dict[int, int] = field(default_factory=dict)  # key point number → its row
    total_row: int = 0


def import_workbook(scheme_year: SchemeYear, data: bytes) -> ImportSummary:
    """Replace the year's tiers and indicators by the workbook's, or raise WorkbookInvalid with every problem."""
    if not scheme_year.status.editable:
        reason = _l(
            "The %(year)d indicator system is frozen; only a draft or a system under revision can be imported.",
            year=scheme_year.year,
        )
        raise WorkbookInvalid([RowError("", 0, "", str(reason))])
    values = read_sheet(data, SHEET)
    columns = header_columns(values[0] if values else (), HEADERS, SHEET)
    departments = _Departments(db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.DEPARTMENT)))
    problems = Problems(SHEET, HEADERS)
    sheet = _read_indicators(values, columns, departments, problems)
    _check_levels(sheet.rows, problems)
    _check_key_points(sheet.rows, problems)
    _check_system(sheet, set(departments.by_code), scheme_year.total_weight, problems)
    if problems.items:
        raise WorkbookInvalid(problems.sorted())
    return _replace_system(scheme_year, sheet.rows)


class _Departments:
    """The evaluating departments by code and by name, indexed once per import (rows name them often)."""

    def __init__(self, units: Iterable[OrgUnit]) -> None:
        self.by_code: dict[str, OrgUnit] = {}
        self.by_name: dict[str, list[OrgUnit]] = {}
        for unit in units:
            self.by_code[unit.code] = unit
            for name in dict.fromkeys((unit.short_name, unit.name)):
                self.by_name.setdefault(name, []).append(unit)

    def find(self, text: str) -> list[OrgUnit]:
        """The department with the code, else those with the short name or name."""
        return [self.by_code[text]] if text in self.by_code else self.by_name.get(text, [])


def _read_indicators(
    values: list[tuple[Any, ...]], columns: dict[str, int], departments: _Departments, problems: Problems
) -> _Sheet:
    sheet = _Sheet()
    for number, raw in enumerate(values[1:], start=2):
        cells = {h: cell_text(raw[i]) if i < len(raw) else "" for h, i in columns.items()}
        if not any(cells.values()):
            continue
        if _is_subtotal(cells):
            _note_subtotal(sheet, number, cells[NAME])
            continue
        raw_weight = raw[columns[WEIGHT]] if columns[WEIGHT] < len(raw) else None
        sheet.rows.append(_parse_row(number, cells, raw_weight, departments, problems))
    return sheet


def _is_subtotal(cells: dict[str, str]) -> bool:
    # Marked by its label; an indicator row whose code was cleared still has its owner, and is reported.
    return not cells[CODE] and not cells[OWNER] and cells[NAME].startswith((SUBTOTAL, TOTAL))


def _note_subtotal(sheet: _Sheet, number: int, label: str) -> None:
    # A key point's subtotal row stays when its last indicator row is deleted; it tells us the key point exists.
    match = _KEY_POINT_SUBTOTAL.match(label)
    if match:
        sheet.key_point_subtotals.setdefault(int(match.group(1)), number)
    elif label == TOTAL:
        sheet.total_row = number


def _parse_row(
    number: int, cells: dict[str, str], raw_weight: Any, departments: _Departments, problems: Problems
) -> _Row:
    for header in (DIMENSION, LEVEL, KP_NUMBER, KP_NAME, CODE, NAME, WEIGHT, OWNER):
        if not cells[header]:
            problems.add(number, header, _l("This cell must not be empty."))
    for header, limit in MAX_LENGTHS.items():
        if len(cells[header]) > limit:
            problems.add(number, header, _l("At most %(n)d characters are allowed here.", n=limit))
    owner = _resolve(number, OWNER, cells[OWNER], departments, problems) if cells[OWNER] else None
    co_owners = [
        org
        for text in dict.fromkeys(t.strip() for t in _CO_OWNER_SPLIT.split(cells[CO_OWNERS]) if t.strip())
        if (org := _resolve(number, CO_OWNERS, text, departments, problems)) is not None
    ]
    return _Row(
        excel_row=number,
        dimension=_DIMENSION_PREFIX.sub("", cells[DIMENSION]),
        level=_LEVEL_PREFIX.sub("", cells[LEVEL]),
        key_point=_key_point_number(number, cells[KP_NUMBER], problems),
        key_point_name=cells[KP_NAME],
        code=cells[CODE],
        name=cells[NAME],
        weight=_weight(number, raw_weight, cells[WEIGHT], problems),
        weight_text=cells[WEIGHT],
        unit=cells[UNIT],
        owner=owner,
        owner_text=cells[OWNER],
        co_owners=list({o.id: o for o in co_owners}.values()),
        scoring_rule=cells[RULE],
    )


def _key_point_number(number: int, text: str, problems: Problems) -> int | None:
    if not text:
        return None
    if re.fullmatch(r"\d+", text) and int(text) > 0:
        return int(text)
    problems.add(
        number, KP_NUMBER, _l("“%(value)s” is not a whole number of 1 or more.", value=sheets.excerpt(text))
    )
    return None


def _weight(number: int, raw: Any, text: str, problems: Problems) -> Decimal | None:
    if not text:
        return None
    weight = None if isinstance(raw, bool) else as_weight(raw)
    if weight is None:
        problems.add(number, WEIGHT, _l("“%(value)s” is not a number.", value=sheets.excerpt(text)))
    return weight


def _resolve(
    number: int, column: str, text: str, departments: _Departments, problems: Problems
) -> OrgUnit | None:
    """The department whose code, short name or name the text is; codes win, a shared name is ambiguous."""
    found = departments.find(text)
    if len(found) == 1:
        return found[0]
    shown = sheets.excerpt(text)
    if found:
        problems.add(
            number, column, _l("“%(value)s” names more than one department; use its code.", value=shown)
        )
    else:
        problems.add(
            number, column, _l("No evaluating department has the code or name “%(value)s”.", value=shown)
        )
    return None


def _check_levels(rows: list[_Row], problems: Problems) -> None:
    """A level sits under one dimension: the first row that names it decides which."""
    first: dict[str, _Row] = {}
    for row in rows:
        if not (row.dimension and row.level):
            continue
        seen = first.setdefault(row.level, row)
        if seen.dimension != row.dimension:
            message = _l(
                "Level “%(level)s” is under dimension “%(other)s” on row %(row)d.",
                level=sheets.excerpt(row.level),
                other=sheets.excerpt(seen.dimension),
                row=seen.excel_row,
            )
            problems.add(row.excel_row, LEVEL, message)


def _check_key_points(rows: list[_Row], problems: Problems) -> None:
    """A key point number names one key point under one level: the first row that uses it decides."""
    first: dict[int, _Row] = {}
    for row in rows:
        if row.key_point is None or not (row.level and row.key_point_name):
            continue
        seen = first.setdefault(row.key_point, row)
        if seen.level != row.level:
            message = _l(
                "Key point %(n)d is under level “%(other)s” on row %(row)d.",
                n=row.key_point,
                other=sheets.excerpt(seen.level),
                row=seen.excel_row,
            )
            problems.add(row.excel_row, KP_NUMBER, message)
        elif seen.key_point_name != row.key_point_name:
            message = _l(
                "Key point %(n)d is called “%(other)s” on row %(row)d.",
                n=row.key_point,
                other=sheets.excerpt(seen.key_point_name),
                row=seen.excel_row,
            )
            problems.add(row.excel_row, KP_NAME, message)


def _check_system(sheet: _Sheet, departments: set[str], total: Decimal, problems: Problems) -> None:
    """The shared rules of models.rules.indicator_system, each problem put on the row it is about."""
    for row in sheet.rows:  # one row at a time, so a problem lands on its row even when codes repeat
        points = {row.key_point} if row.key_point is not None else set()
        for problem in check_system([row.rule_row()], points, departments, total).problems:
            if problem.rule not in CROSS_ROW_RULES:
                problems.add_once(row.excel_row, RULE_COLUMNS.get(problem.rule, ""), problem.message)
    points = {r.key_point for r in sheet.rows if r.key_point is not None} | set(sheet.key_point_subtotals)
    result = check_system([r.rule_row() for r in sheet.rows], points, departments, total)
    rows = _CrossRows(sheet)
    seen: Counter[tuple[str, str]] = Counter()
    for problem in result.problems:
        if problem.rule in CROSS_ROW_RULES:
            number = rows.row_of(problem, seen[(problem.rule, problem.subject)])
            seen[(problem.rule, problem.subject)] += 1
            problems.add_once(number, RULE_COLUMNS.get(problem.rule, ""), problem.message)


class _CrossRows:
    """Finds the row a cross-row problem is about, from indexes built once (a scan per problem made
    the import quadratic: 4,000 rows of repeated codes took 45 s)."""

    def __init__(self, sheet: _Sheet) -> None:
        self.sheet = sheet
        self.by_code: dict[str, list[_Row]] = {}
        for row in sheet.rows:
            self.by_code.setdefault(row.code or "?", []).append(row)
        self.names = Counter(r.name.strip() for r in sheet.rows)
        self.repeated_names: dict[str, list[_Row]] = {}

    def row_of(self, problem: Problem, occurrence: int) -> int:
        """The n-th row the problem names, a key point's subtotal, or the total."""
        if problem.rule == "key_point_empty":
            number = re.search(r"\d+$", problem.subject)
            return self.sheet.key_point_subtotals.get(
                int(number.group()) if number else 0, self.sheet.total_row
            )
        candidates = self.by_code.get(problem.subject, [])
        if problem.rule == "name_unique":
            if problem.subject not in self.repeated_names:
                self.repeated_names[problem.subject] = [
                    r for r in candidates if self.names[r.name.strip()] > 1
                ]
            candidates = self.repeated_names[problem.subject]
        if not candidates:
            return self.sheet.total_row
        return candidates[min(occurrence, len(candidates) - 1)].excel_row


class _TreeBuilder:
    """Builds the new tiers in file order, numbering dimensions and levels as they first appear."""

    def __init__(self, scheme_year: SchemeYear) -> None:
        self.scheme_year = scheme_year
        self.dimensions: dict[str, Dimension] = {}
        self.levels: dict[str, Level] = {}
        self.points: dict[int, KeyPoint] = {}
        self.indicators = 0

    def add(self, row: _Row) -> None:
        self.indicators += 1
        indicator = Indicator(
            scheme_year=self.scheme_year,
            key_point=self._point(row),
            seq=self.indicators,
            code=row.code,
            name=row.name,
            weight=row.weight,
            owner=row.owner,
            unit=row.unit,
            scoring_rule=row.scoring_rule,
        )
        indicator.co_owner_rows = [IndicatorCoOwner(org=o) for o in row.co_owners]
        # SQLAlchemy 2 does not cascade along backrefs: adding the indicator brings its tiers along.
        db.session.add(indicator)

    def _dimension(self, row: _Row) -> Dimension:
        if row.dimension not in self.dimensions:
            n = len(self.dimensions) + 1
            self.dimensions[row.dimension] = Dimension(
                scheme_year=self.scheme_year, number=n, code=f"D{n}", name=row.dimension
            )
        return self.dimensions[row.dimension]

    def _level(self, row: _Row) -> Level:
        if row.level not in self.levels:
            n = len(self.levels) + 1
            self.levels[row.level] = Level(
                scheme_year=self.scheme_year,
                dimension=self._dimension(row),
                number=n,
                code=f"L{n:02d}",
                name=row.level,
            )
        return self.levels[row.level]

    def _point(self, row: _Row) -> KeyPoint:
        assert row.key_point is not None  # validated before anything is built
        if row.key_point not in self.points:
            self.points[row.key_point] = KeyPoint(
                scheme_year=self.scheme_year,
                level=self._level(row),
                number=row.key_point,
                name=row.key_point_name,
            )
        return self.points[row.key_point]

    def summary(self) -> ImportSummary:
        return ImportSummary(len(self.dimensions), len(self.levels), len(self.points), self.indicators)


def _replace_system(scheme_year: SchemeYear, rows: Iterable[_Row]) -> ImportSummary:
    load_dimensions(scheme_year)  # a few batched queries, so the cascade below does not load tier by tier
    scheme_year.dimensions.clear()
    # The old tiers must be gone before the new ones reuse their numbers and codes (unique per year).
    db.session.flush()
    builder = _TreeBuilder(scheme_year)
    for row in rows:
        builder.add(row)
    db.session.flush()
    return builder.summary()
