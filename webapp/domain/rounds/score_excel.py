"""A department's score sheet (a `round.score` task) as an Excel template: download, fill offline, upload.

The template holds the task's current grid, one row per indicator and city, as the task page shows it
(the saved draft, else the prefill). The upload reads the 评分 sheet, checks every row before it
decides, and on success keeps the scores as the task's draft, exactly as *Save draft* does: the user
then reviews the grid on the page and submits it, so an upload never completes the task. On any
problem nothing is written (flush only: the caller commits).
"""

from __future__ import annotations

from collections.abc import Sequence
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
    "FORM_KEY",
    "HEADERS",
    "SHEET",
    "RowError",
    "WorkbookInvalid",
    "apply_template",
    "score_task",
    "score_template",
    "template_filename",
]

FORM_KEY = "round.score"
SHEET = "评分"
# (header, column width in characters, filled in by the user), in the sheet's order
COLUMNS = (
    ("编号", 10, False),
    ("考评指标", 40, False),
    ("分值", 8, False),
    ("市", 10, False),
    ("自评情况", 36, False),
    ("得分", 10, True),
    ("扣分理由", 48, True),
)
HEADERS = tuple(header for header, _width, _input in COLUMNS)
CODE, NAME, WEIGHT, CITY, REPORTED, SCORE, REASON = HEADERS
WIDTHS = {header: width for header, width, _input in COLUMNS}
INPUTS = frozenset(header for header, _width, is_input in COLUMNS if is_input)
REQUIRED = (CODE, CITY, SCORE, REASON)  # the columns the upload reads
WRAPPED = {NAME, REPORTED, REASON}
REASON_MAX = 2000  # as ScoreRowForm.reason

_READ_ONLY_FILL = PatternFill("solid", fgColor="E7E6E6")
_READ_ONLY_FONT = Font(color="595959")


# ---------------------------------------------------------------- access


def _check(task: InboxTask, user: User) -> None:
    """What save_draft requires (open, the user's role and org, not claimed by another), for a score task."""
    if task.form_key != FORM_KEY:
        raise errors.NotFound(str(_l("This task has no score template.")))
    task_service.check_actor(task, user)  # the very checks save_draft makes


def score_task(task_guid: str, user: User) -> InboxTask:
    """The score task the user may fill in; TaskError (404, 403, 409) otherwise."""
    task = task_service.get_task(task_guid, user)
    _check(task, user)
    return task


def template_filename(task: InboxTask) -> str:
    year = db.session.get(SchemeYear, task.instance.scheme_year_id)
    parts = ["scores", str(year.year) if year else "", task.scope, task.org.code if task.org else ""]
    return "-".join(p for p in parts if p) + ".xlsx"


def _grid(task: InboxTask, user: User) -> list[dict[str, Any]]:
    """The rows the task page shows: code, city, reported, score, reason (as typed)."""
    return list(raw_values(task_service.build_form(task, user)).get("rows") or [])


def _indicators(task: InboxTask) -> dict[str, Indicator]:
    year = db.session.get(SchemeYear, task.instance.scheme_year_id)
    return {i.code: i for i in year.indicators()} if year else {}


# ---------------------------------------------------------------- export


def score_template(task: InboxTask, user: User) -> bytes:
    """The task's current grid as .xlsx bytes: read-only columns in grey, 得分 and 扣分理由 to fill in."""
    _check(task, user)
    indicators = _indicators(task)
    workbook = Workbook()
    sheet = cast(Worksheet, workbook.active)
    sheet.title = SHEET
    sheet.append(HEADERS)
    sheets.style_header(sheet[1])
    for row in _grid(task, user):
        indicator = indicators.get(row.get("code") or "")
        sheet.append(
            (
                row.get("code") or "",
                indicator.name if indicator else "",
                plain(indicator.weight) if indicator else None,
                row.get("city") or "",
                row.get("reported") or "",
                _score_cell(row.get("score")),
                row.get("reason") or "",
            )
        )
        _style_row(sheet[sheet.max_row])
    for index, header in enumerate(HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS[header]
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _score_cell(text: Any) -> Any:
    """A valid score as a number (Excel shows and sorts it as one); anything else as it was typed."""
    if text in (None, ""):
        return None
    try:
        return plain(scoring.as_score(text))
    except scoring.InvalidScore:
        return str(text)


def _style_row(cells: Sequence[Any]) -> None:
    for header, cell in zip(HEADERS, cells, strict=True):
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"  # text, never a formula: self-reports and reasons come from users
        if header == WEIGHT:
            cell.number_format = "0" if isinstance(cell.value, int) else "0.##"
        if header in WRAPPED:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        if header not in INPUTS:
            cell.fill, cell.font = _READ_ONLY_FILL, _READ_ONLY_FONT


# ---------------------------------------------------------------- import


def apply_template(task: InboxTask, user: User, data: bytes) -> InboxTask:
    """Keep the workbook's scores as the task's draft, or raise WorkbookInvalid with every problem."""
    _check(task, user)
    values = sheets.read_sheet(data, SHEET, WorkbookInvalid)
    columns = sheets.header_columns(values[0] if values else (), REQUIRED, SHEET, WorkbookInvalid)
    grid = _grid(task, user)
    weights = {code: i.weight for code, i in _indicators(task).items()}
    rows = {(r.get("code") or "", r.get("city") or ""): r for r in grid}
    codes, cities = {code for code, _city in rows}, {city for _code, city in rows}
    problems = sheets.Problems(SHEET, HEADERS)
    seen: dict[tuple[str, str], int] = {}
    filled: dict[tuple[str, str], tuple[str, str]] = {}
    for number, raw in enumerate(values[1:], start=2):
        cells = {h: raw[i] if i < len(raw) else None for h, i in columns.items()}
        if not any(sheets.cell_text(v) for v in cells.values()):
            continue
        key = (sheets.cell_text(cells[CODE]), sheets.cell_text(cells[CITY]))
        if not _known(number, key, rows, codes, cities, problems):
            continue
        if key in seen:
            problems.add(
                number,
                "",
                _l(
                    "%(subject)s is already on row %(row)d.",
                    subject=_subject(*key),
                    row=seen[key],
                ),
            )
            continue
        seen[key] = number
        checked = _checked(number, key, cells, weights.get(key[0]), problems)
        if checked is not None:
            filled[key] = checked
    for key in rows:
        if key not in seen:
            problems.add(0, "", _l("%(subject)s: the row is missing.", subject=_subject(*key)))
    if problems.items:
        raise WorkbookInvalid(problems.sorted())
    for key, row in rows.items():
        row["score"], row["reason"] = filled[key]
    return task_service.save_draft(task.task_guid, user, {"rows": grid})


def _subject(code: str, city: str) -> str:
    return str(_l("Indicator %(code)s, %(city)s", code=code, city=city))


def _known(
    number: int,
    key: tuple[str, str],
    rows: dict[tuple[str, str], dict[str, Any]],
    codes: set[str],
    cities: set[str],
    problems: sheets.Problems,
) -> bool:
    """Whether the row's (code, city) is one of the grid's; each unknown part is reported on its cell."""
    code, city = key
    if key in rows:
        return True
    if not code:
        problems.add(number, CODE, _l("This cell must not be empty."))
    elif code not in codes:
        problems.add(number, CODE, _l("“%(value)s” is not an indicator of this score sheet.", value=code))
    if not city:
        problems.add(number, CITY, _l("This cell must not be empty."))
    elif city not in cities:
        problems.add(number, CITY, _l("“%(value)s” is not a city of this score sheet.", value=city))
    if code in codes and city in cities:  # both known, yet not a pair of the grid
        problems.add(number, "", _l("%(subject)s is not in this score sheet.", subject=_subject(*key)))
    return False


def _checked(
    number: int,
    key: tuple[str, str],
    cells: dict[str, Any],
    weight: Decimal | None,
    problems: sheets.Problems,
) -> tuple[str, str] | None:
    """The row's (score, reason) as the draft keeps them, or None after reporting its problems."""
    subject = _subject(*key)
    found = len(problems.items)
    if weight is None:  # a stale draft names an indicator the year no longer has
        problems.add(number, CODE, _l("The list of scores changed; reload the page."))
        return None
    reason = sheets.cell_text(cells[REASON])
    if len(reason) > REASON_MAX:
        problems.add(number, REASON, _l("At most %(n)d characters are allowed here.", n=REASON_MAX))
    raw = cells[SCORE]
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        problems.add(number, SCORE, _l("%(subject)s: enter a score.", subject=subject))
        return None
    try:
        score = scoring.as_score(raw)
        scoring.check_score(score, weight)
    except (scoring.InvalidScore, scoring.ScoreOutOfRange) as exc:
        problems.add(number, SCORE, f"{subject}: {exc}")
        return None
    if score < weight and not reason:
        problems.add(
            number, REASON, _l("%(subject)s: give the reason for scoring below full marks.", subject=subject)
        )
    if len(problems.items) > found:
        return None
    return format(score, "f"), reason
