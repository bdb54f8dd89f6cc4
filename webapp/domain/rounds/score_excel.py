"""A grid task as an Excel template: download, fill offline, upload. Two grids have one: a department's
score sheet (`round.score`: 评分) and a city's self-report (`round.self_report`: 自评).

The template holds the task's current grid, one row per indicator (and city, for scores), as the task
page shows it (the saved draft, else the prefill), with the indicator's read-only columns in grey. The
upload reads the sheet, checks every row before it decides, and on success keeps the filled columns
as the task's draft, exactly as *Save draft* does: the user then reviews the grid on the page and
submits it, so an upload never completes the task. On any problem nothing is written (flush only: the
caller commits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import User
from models.rules import scoring
from models.scheme import Indicator, SchemeYear
from models.workflow import InboxTask
from webapp.domain import errors, sheets
from webapp.domain.errors import WorkbookInvalid
from webapp.domain.numbers import plain
from webapp.domain.process import tasks as task_service
from webapp.domain.sheets import RowError
from workflows.forms.values import raw_values

__all__ = [
    "FORM_KEYS",
    "RowError",
    "WorkbookInvalid",
    "apply_template",
    "grid_task",
    "grid_template",
    "template_filename",
]

Row = dict[str, Any]  # one row of the grid, as typed
Cells = dict[str, Any]  # one row of the sheet: header → value


@dataclass(frozen=True)
class Column:
    header: str
    width: int  # in characters
    value: Callable[[Row, Indicator | None], Any]  # what the template shows
    field: str | None = None  # the grid's field the upload fills, when the user fills this column in
    wrapped: bool = False
    number_format: str | None = None


@dataclass(frozen=True)
class Unknown:
    """A key column: the grid's field it names a row by, and what to say of a value the grid lacks."""

    header: str
    field: str
    message: Callable[[str], Any]  # what to say of a value the grid lacks


@dataclass(frozen=True)
class GridTemplate:
    form_key: str
    sheet: str
    file_name: str  # the downloaded file's first word
    columns: tuple[Column, ...]
    keys: tuple[Unknown, ...]  # the columns that name a row, in order
    subject: Callable[..., str]  # names a row in messages, from its key values
    # The row's filled fields as the draft keeps them, from (Excel row, subject, cells, weight, problems).
    checked: Callable[[int, str, Cells, Decimal, sheets.Problems], Row]
    stale: Any  # what to say of a row whose indicator the year no longer has

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    @property
    def inputs(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.field is not None)


def _of(name: str) -> Callable[[Row, Indicator | None], Any]:
    return lambda row, _indicator: row.get(name) or ""


def _name(_row: Row, indicator: Indicator | None) -> str:
    return indicator.name if indicator else ""


def _weight(_row: Row, indicator: Indicator | None) -> Any:
    return plain(indicator.weight) if indicator else None


def _score_cell(row: Row, _indicator: Indicator | None) -> Any:
    """A valid score as a number (Excel shows and sorts it as one); anything else as it was typed."""
    text = row.get("score")
    if text in (None, ""):
        return None
    try:
        return plain(scoring.as_score(text))
    except scoring.InvalidScore:
        return str(text)


_READ_ONLY_FILL = PatternFill("solid", fgColor="E7E6E6")
_READ_ONLY_FONT = Font(color="595959")
REASON_MAX = 2000  # as ScoreRowForm.reason
COMPLETION_MAX, NARRATIVE_MAX = 200, 2000  # as ReportRowForm


def _too_long(number: int, column: str, text: str, limit: int, problems: sheets.Problems) -> None:
    if len(text) > limit:
        problems.add(number, column, _l("At most %(n)d characters are allowed here.", n=limit))


# ---------------------------------------------------------------- the score sheet

SCORE_COLUMNS = (
    Column("编号", 10, _of("code")),
    Column("考评指标", 40, _name, wrapped=True),
    Column("分值", 8, _weight, number_format="0.##"),
    Column("市", 10, _of("city")),
    Column("自评情况", 36, _of("reported"), wrapped=True),
    Column("得分", 10, _score_cell, field="score"),
    Column("扣分理由", 48, _of("reason"), field="reason", wrapped=True),
)
CODE, NAME, WEIGHT, CITY, REPORTED, SCORE, REASON = (c.header for c in SCORE_COLUMNS)


def _score_subject(code: str, city: str = "") -> str:
    return str(_l("Indicator %(code)s, %(city)s", code=code, city=city))


def _checked_score(
    number: int, subject: str, cells: Cells, weight: Decimal, problems: sheets.Problems
) -> Row:
    """The row's score and reason as the draft keeps them (reporting what is wrong with them)."""
    reason = sheets.cell_text(cells[REASON])
    _too_long(number, REASON, reason, REASON_MAX, problems)
    raw = cells[SCORE]
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        problems.add(number, SCORE, _l("%(subject)s: enter a score.", subject=subject))
        return {}
    try:
        score = scoring.as_score(raw)
        scoring.check_score(score, weight)
    except scoring.InvalidScore:  # said again with the cell shortened: it may be thousands of characters
        problems.add(
            number, SCORE, f"{subject}: {scoring.InvalidScore(sheets.excerpt(sheets.cell_text(raw)))}"
        )
        return {}
    except scoring.ScoreOutOfRange as exc:
        problems.add(number, SCORE, f"{subject}: {exc}")
        return {}
    if score < weight and not reason:
        problems.add(
            number, REASON, _l("%(subject)s: give the reason for scoring below full marks.", subject=subject)
        )
    return {"score": format(score, "f"), "reason": reason}


SCORES = GridTemplate(
    form_key="round.score",
    sheet="评分",
    file_name="scores",
    columns=SCORE_COLUMNS,
    keys=(
        Unknown(CODE, "code", lambda v: _l("“%(value)s” is not an indicator of this score sheet.", value=v)),
        Unknown(CITY, "city", lambda v: _l("“%(value)s” is not a city of this score sheet.", value=v)),
    ),
    subject=_score_subject,
    checked=_checked_score,
    stale=_l("The list of scores changed; reload the page."),
)

# ---------------------------------------------------------------- the city's self-report

REPORT_COLUMNS = (
    Column("编号", 10, _of("code")),
    Column("考评指标", 40, _name, wrapped=True),
    Column("分值", 8, _weight, number_format="0.##"),
    Column("目标值", 20, _of("target"), wrapped=True),
    Column("计量单位", 10, _of("unit")),
    Column("上期完成情况", 20, _of("previous"), wrapped=True),
    Column("完成情况", 24, _of("completion"), field="completion", wrapped=True),
    Column("情况说明", 48, _of("narrative"), field="narrative", wrapped=True),
)
COMPLETION, NARRATIVE = (c.header for c in REPORT_COLUMNS[-2:])


def _report_subject(code: str) -> str:
    return str(_l("Indicator %(code)s", code=code))


def _checked_report(
    number: int, subject: str, cells: Cells, _weight: Decimal, problems: sheets.Problems
) -> Row:
    """The row's completion and explanation as the draft keeps them (reporting what is wrong with them)."""
    completion, narrative = sheets.cell_text(cells[COMPLETION]), sheets.cell_text(cells[NARRATIVE])
    if not completion:
        problems.add(number, COMPLETION, _l("%(subject)s: enter the completion.", subject=subject))
    _too_long(number, COMPLETION, completion, COMPLETION_MAX, problems)
    _too_long(number, NARRATIVE, narrative, NARRATIVE_MAX, problems)
    return {"completion": completion, "narrative": narrative}


SELF_REPORT = GridTemplate(
    form_key="round.self_report",
    sheet="自评",
    file_name="self-report",
    columns=REPORT_COLUMNS,
    keys=(
        Unknown(CODE, "code", lambda v: _l("“%(value)s” is not an indicator of this self-report.", value=v)),
    ),
    subject=_report_subject,
    checked=_checked_report,
    stale=_l("The list of indicators changed; reload the page."),
)

TEMPLATES = {t.form_key: t for t in (SCORES, SELF_REPORT)}
FORM_KEYS = frozenset(TEMPLATES)


# ---------------------------------------------------------------- access


def _template(task: InboxTask, user: User) -> GridTemplate:
    """What save_draft requires (open, the user's role and org, not claimed by another), for a grid task."""
    template = TEMPLATES.get(task.form_key)
    if template is None:
        raise errors.NotFound(str(_l("This task has no Excel template.")))
    task_service.check_actor(task, user)  # the very checks save_draft makes
    return template


def grid_task(task_guid: str, user: User) -> InboxTask:
    """The grid task the user may fill in; TaskError (404, 403, 409) otherwise."""
    task = task_service.get_task(task_guid, user)
    _template(task, user)
    return task


def template_filename(task: InboxTask) -> str:
    year = db.session.get(SchemeYear, task.instance.scheme_year_id)
    first = TEMPLATES[task.form_key].file_name if task.form_key in TEMPLATES else "grid"
    parts = [first, str(year.year) if year else "", task.scope, task.org.code if task.org else ""]
    return "-".join(p for p in parts if p) + ".xlsx"


def _grid(task: InboxTask, user: User) -> list[Row]:
    """The rows the task page shows, as typed."""
    return list(raw_values(task_service.build_form(task, user)).get("rows") or [])


def _indicators(task: InboxTask) -> dict[str, Indicator]:
    year = db.session.get(SchemeYear, task.instance.scheme_year_id)
    return {i.code: i for i in year.indicators()} if year else {}


# ---------------------------------------------------------------- export


def grid_template(task: InboxTask, user: User) -> bytes:
    """The task's current grid as .xlsx bytes: read-only columns in grey, the columns to fill in white."""
    template = _template(task, user)
    indicators = _indicators(task)
    workbook = Workbook()
    sheet = cast(Worksheet, workbook.active)
    sheet.title = template.sheet
    sheet.append(template.headers)
    sheets.style_header(sheet[1])
    for row in _grid(task, user):
        indicator = indicators.get(row.get("code") or "")
        sheet.append(tuple(c.value(row, indicator) for c in template.columns))
        _style_row(template, sheet[sheet.max_row])
    for index, column in enumerate(template.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _style_row(template: GridTemplate, cells: Sequence[Any]) -> None:
    for column, cell in zip(template.columns, cells, strict=True):
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"  # text, never a formula: self-reports and reasons come from users
        if column.number_format:
            cell.number_format = "0" if isinstance(cell.value, int) else column.number_format
        if column.wrapped:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        if column.field is None:
            cell.fill, cell.font = _READ_ONLY_FILL, _READ_ONLY_FONT


# ---------------------------------------------------------------- import


def apply_template(task: InboxTask, user: User, data: bytes) -> InboxTask:
    """Keep the workbook's filled columns as the task's draft, or raise WorkbookInvalid with every problem."""
    template = _template(task, user)
    values = sheets.read_sheet(data, template.sheet, WorkbookInvalid)
    required = tuple(k.header for k in template.keys) + tuple(c.header for c in template.inputs)
    columns = sheets.header_columns(values[0] if values else (), required, template.sheet, WorkbookInvalid)
    grid = _grid(task, user)
    indicators = _indicators(task)
    rows = {tuple(r.get(k.field) or "" for k in template.keys): r for r in grid}
    known = [{key[n] for key in rows} for n in range(len(template.keys))]
    problems = sheets.Problems(template.sheet, template.headers)
    seen: dict[tuple[str, ...], int] = {}
    filled: dict[tuple[str, ...], Row] = {}
    for number, raw in enumerate(values[1:], start=2):
        cells = {h: raw[i] if i < len(raw) else None for h, i in columns.items()}
        if not any(sheets.cell_text(v) for v in cells.values()):
            continue
        key = tuple(sheets.cell_text(cells[k.header]) for k in template.keys)
        if not _known(template, number, key, rows, known, problems):
            continue
        if key in seen:
            problems.add(
                number,
                "",
                _l("%(subject)s is already on row %(row)d.", subject=template.subject(*key), row=seen[key]),
            )
            continue
        seen[key] = number
        indicator = indicators.get(key[0])
        if indicator is None:  # a stale draft names an indicator the year no longer has
            problems.add(number, template.keys[0].header, template.stale)
            continue
        found = len(problems.items)
        checked = template.checked(number, template.subject(*key), cells, indicator.weight, problems)
        if len(problems.items) == found:
            filled[key] = checked
    for key in rows:
        if key not in seen:
            problems.add(0, "", _l("%(subject)s: the row is missing.", subject=template.subject(*key)))
    if problems.items:
        raise WorkbookInvalid(problems.sorted())
    for key, row in rows.items():
        row.update(filled[key])
    return task_service.save_draft(task.task_guid, user, {"rows": grid})


def _known(
    template: GridTemplate,
    number: int,
    key: tuple[str, ...],
    rows: dict[tuple[str, ...], Row],
    known: list[set[str]],
    problems: sheets.Problems,
) -> bool:
    """Whether the row's key is one of the grid's; each unknown part is reported on its cell."""
    if key in rows:
        return True
    for column, value, values in zip(template.keys, key, known, strict=True):
        if not value:
            problems.add(number, column.header, _l("This cell must not be empty."))
        elif value not in values:
            problems.add(number, column.header, column.message(sheets.excerpt(value)))
    if all(value in values for value, values in zip(key, known, strict=True)):  # each known, yet not a row
        problems.add(
            number, "", _l("%(subject)s is not in this score sheet.", subject=template.subject(*key))
        )
    return False
