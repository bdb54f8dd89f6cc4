"""What every workbook the system writes and reads shares: header rows, sheet names Excel accepts,
reading one sheet of an upload within the limits below, finding its header columns, and collecting
every problem by sheet, row and column (an upload is taken whole or not at all).

An .xlsx is a zip of XML parts, and a small file can unpack to gigabytes (one 200 MB cell compresses
to 0.2 MB). So an upload is checked before openpyxl inflates anything (`check_package`): the zip's
parts and the sizes they declare (zipfile never reads a part past its declared size, so a lying
header ends in a CRC error, not in more data), then one streaming pass of expat over each XML part
that keeps nothing but counters — no DTD or entity (Excel writes none; an entity multiplies text),
the sheets, the rows and columns that hold a value, the shared texts and each cell's length. Only
then does openpyxl read the sheet, in read-only mode, with the same limits held as it iterates.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any
from xml.parsers import expat

from openpyxl import load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from models.i18n import lazy_gettext as _l
from webapp.domain.errors import WorkbookInvalid

# ---------------------------------------------------------------- the limits on an upload

MB = 1024 * 1024
MAX_FILE = 5 * MB  # the upload itself, as the browser sends it (the views read no more)
MAX_UNPACKED = 20 * MB  # every part together, as the zip declares them
MAX_PART = 2 * MB  # any XML part but the sheets and the shared texts (styles, relationships: a few KB)
MAX_PARTS = 500  # files in the zip
MAX_SHEETS = 50
MAX_ROWS = 10_000  # per sheet, counting up to the last row with a value (5,000 indicators fit)
MAX_COLUMNS = 50  # per sheet, counting up to the last column with a value
MAX_CELL = 10_000  # characters in one cell (the longest field the forms take is 2,000)
MAX_TEXTS = 200_000  # different texts in the workbook's shared table (openpyxl keeps them all)
EXCERPT = 40  # characters of a cell a message quotes, then "…"
# A refusal reports at most errors.REPORTED_PROBLEMS (100) problems, with the count of the rest.

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


def excerpt(text: Any, limit: int = EXCERPT) -> str:
    """The text as a message quotes a cell: its first `limit` characters, then "…" when it is longer."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


def _unreadable() -> RowError:
    return RowError("", 0, "", str(_l("The file is not a readable Excel workbook (.xlsx).")))


class _Refused(Exception):
    """A limit the scan found broken: the problem to report."""

    def __init__(self, problem: RowError) -> None:
        super().__init__(problem.reason)
        self.problem = problem


def _limit(reason: Any, sheet: str = "", row: int = 0, column: str = "") -> _Refused:
    return _Refused(RowError(sheet, row, column, str(reason)))


_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_SHARED_TEXTS = "xl/sharedStrings.xml"
_WORKBOOK = "xl/workbook.xml"
_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d+)")
_VALUE_TAGS = frozenset({"v", "is", "f"})  # a cell holds a value, not only a format


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


class _PartScan:
    """One streaming pass over an XML part, keeping only counters; raises _Refused at the first limit."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kind = (
            "sheet"
            if _WORKSHEET.fullmatch(name)
            else "texts"
            if name == _SHARED_TEXTS
            else "workbook"
            if name == _WORKBOOK
            else ""
        )
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.EntityDeclHandler = self._doctype
        if self.kind:
            self.parser.StartElementHandler = self._start
        if self.kind in ("sheet", "texts"):
            self.parser.EndElementHandler = self._end
            self.parser.CharacterDataHandler = self._text
        self.row = self.column = self.texts = self.sheets = self.length = 0
        self.in_text = self.valued = False

    def feed(self, chunk: bytes, final: bool = False) -> None:
        self.parser.Parse(chunk, final)

    def _doctype(self, *_args: Any) -> None:
        raise _limit(_l("The workbook declares a document type or entities, which Excel never writes."))

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        tag = _local(name)
        if self.kind == "sheet":
            self._sheet_start(tag, attributes)
        elif self.kind == "texts" and tag == "si":
            self.texts += 1
            if self.texts > MAX_TEXTS:
                raise _limit(_l("The workbook holds more than %(n)d different texts.", n=MAX_TEXTS))
            self.in_text, self.length = True, 0
        elif self.kind == "workbook" and tag == "sheet":
            self.sheets += 1
            if self.sheets > MAX_SHEETS:
                raise _limit(_l("The workbook has more than %(n)d sheets.", n=MAX_SHEETS))

    def _sheet_start(self, tag: str, attributes: dict[str, str]) -> None:
        if tag == "row":
            number = attributes.get("r", "")
            self.row = int(number) if number.isdigit() else self.row + 1
            self.column = 0
        elif tag == "c":
            found = _CELL_REF.fullmatch(attributes.get("r", ""))
            self.column = _column_number(found.group(1)) if found else self.column + 1
            self.in_text, self.valued, self.length = True, False, 0
        elif tag in _VALUE_TAGS and self.in_text and not self.valued:
            self.valued = True
            if self.row > MAX_ROWS:
                raise _limit(_l("A sheet has more than %(n)d rows.", n=MAX_ROWS), row=self.row)
            if self.column > MAX_COLUMNS:
                raise _limit(_l("A sheet has more than %(n)d columns.", n=MAX_COLUMNS), row=self.row)

    def _end(self, name: str) -> None:
        if _local(name) in ("c", "si"):
            self.in_text = False

    def _text(self, data: str) -> None:
        if self.in_text:
            self.length += len(data)
            if self.length > MAX_CELL:
                if self.kind == "texts":
                    raise _limit(_too_long_cell())
                raise _limit(_too_long_cell(), row=self.row, column=_letter(self.column))


def _letter(column: int) -> str:
    return get_column_letter(max(1, min(column, 18278)))  # the widest openpyxl names


def _too_long_cell() -> Any:
    return _l("A cell is longer than %(n)d characters.", n=MAX_CELL)


def check_package(data: bytes, invalid: type[WorkbookInvalid] = WorkbookInvalid) -> None:
    """Refuse, naming the limit, an upload that would unpack past any limit; inflates nothing to know."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            parts = archive.infolist()
            if len(parts) > MAX_PARTS:
                raise _limit(_l("The workbook holds more than %(n)d files.", n=MAX_PARTS))
            if sum(p.file_size for p in parts) > MAX_UNPACKED:
                raise _limit(_l("The workbook unpacks to more than %(mb)d MB.", mb=MAX_UNPACKED // MB))
            for part in parts:
                _scan(archive, part)
    except _Refused as refused:
        raise invalid([refused.problem]) from None
    except Exception as exc:  # not a zip, broken XML, a part longer than it declares (its CRC fails), …
        raise invalid([_unreadable()]) from exc


_CHUNK = 64 * 1024
_BLANK = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"  # what may come before an XML part's first "<", in any encoding


def _scan(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
    """Scan the part if it is XML (whatever its name: openpyxl finds sheets by their relationships)."""
    with archive.open(part) as stream:
        chunk = stream.read(_CHUNK)
        significant = chunk.lstrip(_BLANK)
        if significant and not significant.startswith(b"<"):
            return  # a picture or other binary part, which openpyxl does not parse
        scan = _PartScan(part.filename)
        if scan.kind not in ("sheet", "texts") and part.file_size > MAX_PART:
            reason = _l(
                "Part %(part)s of the workbook unpacks to more than %(mb)d MB.",
                part=excerpt(part.filename),
                mb=MAX_PART // MB,
            )
            raise _limit(reason)
        while chunk:
            scan.feed(chunk)
            chunk = stream.read(_CHUNK)
    scan.feed(b"", final=True)


def read_sheet(
    data: bytes, sheet: str, invalid: type[WorkbookInvalid] = WorkbookInvalid
) -> list[tuple[Any, ...]]:
    """Every row of one sheet of an uploaded workbook, up to its last value; `invalid`
    when the file or sheet is unreadable or breaks a limit."""
    check_package(data, invalid)
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of error for a file that is not a workbook
        raise invalid([_unreadable()]) from exc
    try:
        if len(workbook.sheetnames) > MAX_SHEETS:  # the workbook part may sit elsewhere than the scan looked
            raise _limit(_l("The workbook has more than %(n)d sheets.", n=MAX_SHEETS))
        if sheet not in workbook.sheetnames:
            reason = _l("The workbook has no sheet named “%(sheet)s”.", sheet=sheet)
            raise invalid([RowError(sheet, 0, "", str(reason))])
        rows = workbook[sheet]
        rows.reset_dimensions()  # read-only mode trusts the size the file declares, which some tools get wrong
        return _bounded_rows(sheet, rows.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True))
    except _Refused as refused:
        raise invalid([refused.problem]) from None
    except invalid:
        raise
    except Exception as exc:  # the sheet itself is parsed lazily and may be broken
        raise invalid([_unreadable()]) from exc
    finally:
        workbook.close()


def _bounded_rows(sheet: str, rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows up to the last with a value, within the limits (which the scan has checked already
    where Excel puts the sheets); empty rows past the limit (formatted only) are passed over."""
    kept: list[tuple[Any, ...]] = []
    blank = (None,) * (MAX_COLUMNS + 1)
    for number, row in enumerate(rows, start=1):
        if row == blank or not any(value is not None for value in row):
            if number <= MAX_ROWS:
                kept.append(())
            continue
        if number > MAX_ROWS:
            raise _limit(_l("A sheet has more than %(n)d rows.", n=MAX_ROWS), sheet, number)
        if any(value is not None for value in row[MAX_COLUMNS:]):
            raise _limit(_l("A sheet has more than %(n)d columns.", n=MAX_COLUMNS), sheet, number)
        width = 0
        for index, value in enumerate(row):
            if value is not None:
                width = index + 1
                if isinstance(value, str) and len(value) > MAX_CELL:
                    raise _limit(_too_long_cell(), sheet, number, _letter(index + 1))
        kept.append(row[:width])
    return kept


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
