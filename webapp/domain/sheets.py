"""What every workbook the system writes and reads shares: header rows, sheet names Excel accepts,
reading one sheet of an upload, finding its header columns, and collecting every problem by sheet,
row and column (an upload is taken whole or not at all)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from openpyxl import load_workbook
from openpyxl.styles import Alignment, Font, PatternFill

from models.i18n import lazy_gettext as _l
from webapp.domain.errors import WorkbookInvalid

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")
TITLE_MAX = 31  # Excel refuses longer sheet names


def style_header(cells: Iterable[Any], alignment: Alignment = HEADER_ALIGNMENT) -> None:
    """Bold on light blue, centred and wrapped: a header row."""
    for cell in cells:
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, alignment


def sheet_title(text: str, taken: set[str] | None = None, replacement: str = "_") -> str:
    """A sheet name Excel accepts for the text; unique among `taken` (which it joins) when given."""
    base = _FORBIDDEN.sub(replacement, text).strip("'")[:TITLE_MAX] or "Sheet"
    if taken is None:
        return base
    title, n = base, 1
    while title.casefold() in taken:
        n += 1
        suffix = f"({n})"
        title = base[: TITLE_MAX - len(suffix)] + suffix
    taken.add(title.casefold())
    return title


# ---------------------------------------------------------------- reading an upload


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int  # the Excel row number; 0 when the problem is about the file or the whole sheet
    column: str  # the Chinese header, or "" when it is about the whole row
    reason: str


class Problems:
    """Every problem of one sheet, in row and column order."""

    def __init__(self, sheet: str, headers: Sequence[str]) -> None:
        self.sheet, self.headers = sheet, list(headers)
        self.items: list[RowError] = []
        self.cells: set[tuple[int, str]] = set()

    def add(self, row: int, column: str, reason: Any) -> None:
        self.items.append(RowError(self.sheet, row, column, str(reason)))
        self.cells.add((row, column))

    def add_once(self, row: int, column: str, reason: Any) -> None:
        """Add unless the cell already has a problem (some rules repeat a row's checks)."""
        if (row, column) not in self.cells:
            self.add(row, column, reason)

    def sorted(self) -> list[RowError]:
        order = {h: i for i, h in enumerate(self.headers)}
        return sorted(self.items, key=lambda e: (e.row, order.get(e.column, -1)))

    def raise_any(self, invalid: type[WorkbookInvalid] = WorkbookInvalid) -> None:
        if self.items:
            raise invalid(self.sorted())


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code or number typed as 12 comes back as 12.0
    return str(value).strip()


def read_sheet(
    data: bytes, sheet: str, invalid: type[WorkbookInvalid] = WorkbookInvalid
) -> list[tuple[Any, ...]]:
    """Every row of one sheet of an uploaded workbook; `invalid` when the file or sheet is unreadable."""
    unreadable = [RowError("", 0, "", str(_l("The file is not a readable Excel workbook (.xlsx).")))]
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of error for a file that is not a workbook
        raise invalid(unreadable) from exc
    try:
        if sheet not in workbook.sheetnames:
            reason = _l("The workbook has no sheet named “%(sheet)s”.", sheet=sheet)
            raise invalid([RowError(sheet, 0, "", str(reason))])
        rows = workbook[sheet]
        rows.reset_dimensions()  # read-only mode trusts the size the file declares, which some tools get wrong
        return list(rows.iter_rows(values_only=True))
    except invalid:
        raise
    except Exception as exc:  # the sheet itself is parsed lazily and may be broken
        raise invalid(unreadable) from exc
    finally:
        workbook.close()


def header_columns(
    header: tuple[Any, ...],
    required: Sequence[str],
    sheet: str,
    invalid: type[WorkbookInvalid] = WorkbookInvalid,
) -> dict[str, int]:
    """The column of every required header (the first, if one repeats); raises naming each one missing."""
    found: dict[str, int] = {}
    for index, value in enumerate(header):
        found.setdefault(cell_text(value), index)
    missing = [h for h in required if h not in found]
    if missing:
        raise invalid(
            [
                RowError(sheet, 1, h, str(_l("The header row has no column “%(column)s”.", column=h)))
                for h in missing
            ]
        )
    return {h: found[h] for h in required}
