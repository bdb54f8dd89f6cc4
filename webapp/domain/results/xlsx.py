"""A feedback report (a `document.Document`) as an Excel workbook: a summary sheet, then one sheet per table.

Every sheet has the report's title on row 1 and its headers on row 2, both frozen; amounts are numbers
formatted "0.00" (Excel rounds only the display), ranks and counts are integers.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from models.i18n import gettext as _
from webapp.domain import sheets
from webapp.domain.results.document import Cell, Document

AMOUNT_FORMAT = "0.00"
COUNT_FORMAT = "0"
MM_PER_CHARACTER = 1.6  # the PDF's 8.5 pt cells hold more per millimetre than Excel's 11 pt
SUMMARY_WIDTHS = (48, 24)  # millimetres, as the report's tables give theirs
_TITLE_FONT = Font(bold=True, size=13)
_MARK_FONT = Font(color="B00020")
_MARK_FILL = PatternFill("solid", fgColor="FDECEA")
_WRAP = Alignment(wrap_text=True, vertical="top")


def render_xlsx(doc: Document) -> bytes:
    """Write the document as a workbook and return its bytes."""
    wb = Workbook()
    summary = wb.active
    assert summary is not None  # a new workbook always has a sheet
    summary.title = _sheet_title(_("Summary"))
    _write_table(summary, doc.title, (_("Item"), _("Value")), SUMMARY_WIDTHS, doc.facts, frozenset())
    notes = [("", doc.notice)] if doc.notice else []
    notes.append(("", doc.summary))
    if doc.advice is not None:
        notes.append((_("Rectification advice"), doc.advice.strip() or _("None.")))
    notes.append(("", doc.generated))
    row = summary.max_row + 2
    for heading, text in notes:
        if heading:
            summary.cell(row, 1, heading).font = sheets.HEADER_FONT
            row += 1
        _write_paragraph(summary, row, text, sum(SUMMARY_WIDTHS))
        row += 1
    for table in doc.tables:
        sheet = wb.create_sheet(_sheet_title(table.title))
        _write_table(sheet, doc.title, table.headers, table.widths, table.rows, table.marked)
    wb.properties.title = doc.title
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _write_table(
    sheet: Worksheet,
    title: str,
    headers: Sequence[str],
    widths: Sequence[int],
    rows: Sequence[Sequence[Cell]],
    marked: frozenset[int],
) -> None:
    sheet.cell(1, 1, title).font = _TITLE_FONT
    for column, (header, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = sheet.cell(2, column, header)
        sheets.style_header([cell], _WRAP)
        sheet.column_dimensions[get_column_letter(column)].width = max(
            width / MM_PER_CHARACTER, _display_width(header) + 2
        )
    for index, values in enumerate(rows):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(index + 3, column, value)
            if isinstance(value, Decimal):
                cell.number_format = AMOUNT_FORMAT
            elif isinstance(value, int):
                cell.number_format = COUNT_FORMAT
            else:
                cell.alignment = _WRAP
            if index in marked:
                cell.font, cell.fill = _MARK_FONT, _MARK_FILL
    sheet.freeze_panes = "A3"
    if rows:
        sheet.auto_filter.ref = f"A2:{get_column_letter(len(headers))}{len(rows) + 2}"


def _write_paragraph(sheet: Worksheet, row: int, text: str, width_mm: int) -> None:
    """Write text across the summary's columns, tall enough for its lines (Excel does not fit merged cells)."""
    columns = len(SUMMARY_WIDTHS)
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=columns)
    sheet.cell(row, 1, text).alignment = _WRAP
    per_line = width_mm / MM_PER_CHARACTER
    lines = sum(max(1, math.ceil(_display_width(line) / per_line)) for line in text.splitlines() or [""])
    sheet.row_dimensions[row].height = 15 * lines


def _display_width(text: str) -> int:
    """Width in Excel characters: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _sheet_title(text: str) -> str:
    return sheets.sheet_title(text, replacement=" ")
