"""The look every workbook the system writes shares: header rows, sheet names Excel accepts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill

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
