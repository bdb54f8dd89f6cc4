"""Uploaded workbooks are bounded before they are inflated: each limit of `webapp.domain.sheets` is
refused with a message naming it, a refusal reports at most 100 problems and counts the rest, no
message echoes a long cell, and nothing is saved on any error. Small workbooks, with the limits
turned down where a real-size file would be slow to build."""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from sqlalchemy import func, select

from models.db import db
from models.i18n import lazy_gettext as _l
from models.org import User
from models.scheme import SchemeYear
from webapp.domain import errors, sheets
from webapp.domain.accounts import excel as users_excel
from webapp.domain.system.excel import HEADERS, SHEET, import_workbook
from webapp.domain.system.excel import export_workbook as export_system
from webapp.domain.system.queries import export_tree, find_scheme_year


def book(rows: list[list[object]], titles: tuple[str, ...] = ("Sheet",)) -> bytes:
    workbook = Workbook()
    for n, title in enumerate(titles):
        sheet = workbook.active if n == 0 else workbook.create_sheet()
        sheet.title = title
        if n == 0:
            for row in rows:
                sheet.append(row)
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewritten(data: bytes, part: str, change: Callable[[bytes], bytes], rename: str | None = None) -> bytes:
    """The workbook with one part's content changed (and the part renamed, when asked)."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == part:
                target.writestr(rename or part, change(content))
            else:
                target.writestr(info.filename, content)
    return out.getvalue()


def with_shared_text(text: str, prolog: bytes = b'<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    """A workbook whose A1 is the first text of a shared table, as Excel writes them (openpyxl writes inline)."""
    data = book([["placeholder"]])
    data = rewritten(
        data,
        "xl/worksheets/sheet1.xml",
        lambda c: c.replace(
            b'<c r="A1" t="inlineStr"><is><t>placeholder</t></is></c>', b'<c r="A1" t="s"><v>0</v></c>'
        ),
    )
    override = (
        b'<Override PartName="/xl/sharedStrings.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    )
    data = rewritten(data, "[Content_Types].xml", lambda c: c.replace(b"</Types>", override + b"</Types>"))
    table = (
        prolog
        + b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        b"<si><t>" + text.encode() + b"</t></si></sst>"
    )
    out = BytesIO(data)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("xl/sharedStrings.xml", table, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def refused(data: bytes, sheet: str = "Sheet") -> errors.WorkbookInvalid:
    with pytest.raises(errors.WorkbookInvalid) as raised:
        sheets.read_sheet(data, sheet)
    return raised.value


def reasons(exc: errors.WorkbookInvalid) -> list[str]:
    return [e.reason for e in exc.rows]


UNREADABLE = _l("The file is not a readable Excel workbook (.xlsx).")


# ---------------------------------------------------------------- each limit, before openpyxl inflates


def test_a_workbook_that_unpacks_past_the_limit_is_refused_from_what_the_zip_declares(ctx):
    # 0.02 MB on the wire, 21 MB unpacked: a zip bomb in the small
    out = BytesIO(book([["编号"]]))
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("xl/media/image1.png", b"\0" * (21 * sheets.MB), zipfile.ZIP_DEFLATED)
    data = out.getvalue()
    assert len(data) < sheets.MB / 10 < sheets.MAX_UNPACKED

    exc = refused(data)

    assert reasons(exc) == [str(_l("The workbook unpacks to more than %(mb)d MB.", mb=20))]
    assert sheets.MAX_UNPACKED == 20 * sheets.MB


def _declare_smaller(data: bytes, part: str, size: int) -> bytes:
    """The zip with the central directory claiming `part` unpacks to `size` bytes (a lying header)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at != -1:
        name_length = struct.unpack_from("<H", out, at + 28)[0]
        if bytes(out[at + 46 : at + 46 + name_length]).decode() == part:
            struct.pack_into("<I", out, at + 24, size)
        at = out.find(b"PK\x01\x02", at + 46)
    return bytes(out)


def test_a_part_larger_than_its_header_says_is_read_no_further_and_refused(ctx):
    assert sheets.read_sheet(with_shared_text("x" * 3000), "Sheet") == [("x" * 3000,)]
    data = _declare_smaller(with_shared_text("x" * 3000), "xl/sharedStrings.xml", 200)
    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert archive.getinfo("xl/sharedStrings.xml").file_size == 200

    assert reasons(refused(data)) == [str(UNREADABLE)]


def test_too_many_parts_are_refused(ctx, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_PARTS", 5)

    exc = refused(book([["编号"]]))

    assert reasons(exc) == [str(_l("The workbook holds more than %(n)d files.", n=5))]


def test_an_oversized_xml_part_other_than_a_sheet_is_refused(ctx, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_PART", 20_000)  # the theme, the largest part, has 10 KB
    data = rewritten(
        book([["编号"]]),
        "xl/styles.xml",
        lambda c: c.replace(b"</styleSheet>", b" " * 30_000 + b"</styleSheet>"),
    )

    exc = refused(data)

    assert reasons(exc) == [
        str(_l("Part %(part)s of the workbook unpacks to more than %(mb)d MB.", part="xl/styles.xml", mb=0))
    ]


def test_too_many_sheets_are_refused(ctx, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_SHEETS", 2)

    exc = refused(book([["编号"]], titles=("Sheet", "B", "C")))

    assert reasons(exc) == [str(_l("The workbook has more than %(n)d sheets.", n=2))]


def test_too_many_rows_are_refused_but_formatted_empty_rows_past_the_limit_are_not(ctx, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_ROWS", 5)
    assert len(sheets.read_sheet(book([[n] for n in range(5)]), "Sheet")) == 5

    exc = refused(book([[n] for n in range(6)]))

    assert reasons(exc) == [str(_l("A sheet has more than %(n)d rows.", n=5))]
    assert exc.rows[0].row == 6
    workbook = load_workbook(BytesIO(book([[n] for n in range(5)])))
    workbook.active.cell(40, 1).font = Font(bold=True)  # a formatted cell without a value
    out = BytesIO()
    workbook.save(out)
    assert len(sheets.read_sheet(out.getvalue(), "Sheet")) == 5


def test_too_many_columns_are_refused(ctx, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_COLUMNS", 3)
    assert sheets.read_sheet(book([["a", "b", "c"]]), "Sheet") == [("a", "b", "c")]

    exc = refused(book([["a", "b", "c", "d"]]))

    assert reasons(exc) == [str(_l("A sheet has more than %(n)d columns.", n=3))]


def test_a_shared_text_longer_than_the_limit_is_refused_before_openpyxl_builds_it(ctx, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_CELL", 50)
    assert sheets.read_sheet(with_shared_text("x" * 50), "Sheet") == [("x" * 50,)]

    exc = refused(with_shared_text("x" * 51))

    assert reasons(exc) == [str(_l("A cell is longer than %(n)d characters.", n=50))]
    assert "x" * 41 not in str(exc.rows) + exc.message


def test_too_many_shared_texts_are_refused(ctx, monkeypatch):
    assert sheets.read_sheet(with_shared_text("编号"), "Sheet") == [("编号",)]
    monkeypatch.setattr(sheets, "MAX_TEXTS", 0)

    assert reasons(refused(with_shared_text("编号"))) == [
        str(_l("The workbook holds more than %(n)d different texts.", n=0))
    ]


def test_an_inline_text_longer_than_the_limit_is_refused_naming_its_cell(ctx, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_CELL", 50)
    inline = b'<c r="B2" t="inlineStr"><is><t>' + b"y" * 51 + b"</t></is></c>"
    data = rewritten(
        book([["a"], ["b"]]),
        "xl/worksheets/sheet1.xml",
        lambda c: c.replace(b"</c></row></sheetData>", b"</c>" + inline + b"</row></sheetData>"),
    )

    exc = refused(data)

    assert [(e.row, e.column, e.reason) for e in exc.rows] == [
        (2, "B", str(_l("A cell is longer than %(n)d characters.", n=50)))
    ]


def test_a_sheet_stored_under_another_name_is_held_to_the_same_limits_as_it_is_read(ctx, monkeypatch):
    def moved(data: bytes) -> bytes:
        data = rewritten(data, "xl/worksheets/sheet1.xml", lambda c: c, rename="xl/data/sheet1.xml")
        data = rewritten(
            data, "xl/_rels/workbook.xml.rels", lambda c: c.replace(b"/xl/worksheets/", b"/xl/data/")
        )
        return rewritten(data, "[Content_Types].xml", lambda c: c.replace(b"/xl/worksheets/", b"/xl/data/"))

    assert sheets.read_sheet(moved(book([["a"], ["b"]])), "Sheet") == [("a",), ("b",)]
    monkeypatch.setattr(sheets, "MAX_ROWS", 5)
    monkeypatch.setattr(sheets, "MAX_COLUMNS", 3)

    assert reasons(refused(moved(book([[n] for n in range(6)])))) == [
        str(_l("A sheet has more than %(n)d rows.", n=5))
    ]
    assert reasons(refused(moved(book([[1, 2, 3, 4]])))) == [
        str(_l("A sheet has more than %(n)d columns.", n=3))
    ]
    monkeypatch.setattr(sheets, "MAX_CELL", 50)
    long_cell = refused(moved(book([["a"], ["b", "z" * 51]])))
    assert [(e.sheet, e.row, e.column, e.reason) for e in long_cell.rows] == [
        ("Sheet", 2, "B", str(_l("A cell is longer than %(n)d characters.", n=50)))
    ]


def test_a_document_type_declaration_is_refused(ctx):
    bomb = b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'

    assert sheets.read_sheet(with_shared_text("&#x7F16;"), "Sheet") == [("编",)]
    data = with_shared_text("&b;", prolog=bomb)

    assert reasons(refused(data)) == [
        str(_l("The workbook declares a document type or entities, which Excel never writes."))
    ]


def test_a_file_that_is_not_a_zip_or_not_xml_is_unreadable(ctx):
    not_xml = rewritten(book([["a"]]), "xl/workbook.xml", lambda c: c[: len(c) // 2])

    for data in (b"not a workbook", b"PK\x03\x04 truncated", not_xml, zlib.compress(b"x" * 100)):
        assert reasons(refused(data)) == [str(UNREADABLE)]


def test_an_excerpt_keeps_40_characters():
    assert sheets.excerpt("a" * 40) == "a" * 40
    assert sheets.excerpt("a" * 41) == "a" * 40 + "…"


# ---------------------------------------------------------------- the imports: reports, excerpts, nothing saved


@pytest.fixture
def year(ctx, demo) -> SchemeYear:
    return find_scheme_year("ln-cities", 2012)


def _edited(year: SchemeYear, edit: Callable) -> bytes:
    workbook = load_workbook(BytesIO(export_system(year)))
    edit(workbook[SHEET])
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def _column(header: str) -> int:
    return HEADERS.index(header) + 1


def _indicator_rows(sheet) -> list[int]:
    return [r for r in range(2, sheet.max_row + 1) if sheet.cell(r, _column("指标编号")).value]


def test_a_report_lists_the_first_100_problems_and_counts_the_rest(year):
    before = export_tree(year)

    def every_weight_wrong(sheet) -> None:
        for row in _indicator_rows(sheet):
            sheet.cell(row, _column("分值")).value = "abc"

    indicator_rows = _indicator_rows(load_workbook(BytesIO(export_system(year)))[SHEET])
    with pytest.raises(errors.WorkbookInvalid) as exc:
        import_workbook(year, _edited(year, every_weight_wrong))

    assert len(exc.value.rows) == errors.REPORTED_PROBLEMS == 100
    assert exc.value.more == len(indicator_rows) - 100 == 17
    assert [(e.row, e.column) for e in exc.value.rows] == [(r, "分值") for r in indicator_rows[:100]]
    assert export_tree(year) == before


def test_the_refusal_page_says_how_many_more_problems_there_are(year, login):
    def every_weight_wrong(sheet) -> None:
        for row in _indicator_rows(sheet):
            sheet.cell(row, _column("分值")).value = "abc"

    data = _edited(year, every_weight_wrong)
    response = login("office").post(
        "/indicators/2012/import",
        data={"workbook": (BytesIO(data), "broken.xlsx")},
        content_type="multipart/form-data",
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.split('data-testid="import-errors"')[1].count("<tr><td>") == 100
    assert "17" in html.split('data-testid="more-problems"')[1].split("</p>")[0]
    assert "abc" in html and len(html) < 100_000


def test_no_message_echoes_a_long_cell(year):
    before = export_tree(year)
    long_text = "很长的内容" * 1000  # 5,000 characters, under the cell limit
    rows = _indicator_rows(load_workbook(BytesIO(export_system(year)))[SHEET])
    cells = [
        (rows[0], "分值"),
        (rows[1], "牵头部门"),
        (rows[2], "要点编号"),
        (rows[3], "考评指标"),
        (rows[4], "考评指标"),  # the same name twice
        (rows[5], "指标编号"),
        (rows[6], "协办部门"),
    ]

    def long_cells(sheet) -> None:
        for row, header in cells:
            sheet.cell(row, _column(header)).value = long_text

    with pytest.raises(errors.WorkbookInvalid) as exc:
        import_workbook(year, _edited(year, long_cells))

    shown = exc.value.rows
    assert {(e.row, e.column) for e in shown} >= set(cells)
    assert all(len(e.reason) < 200 for e in shown), [len(e.reason) for e in shown]
    assert any(long_text[:40] + "…" in e.reason for e in shown)
    assert long_text[:41] not in exc.value.message
    assert export_tree(year) == before


def test_a_limit_refuses_the_indicator_import_and_saves_nothing(year, monkeypatch):
    before = export_tree(year)
    data = export_system(year)
    monkeypatch.setattr(sheets, "MAX_ROWS", 100)

    with pytest.raises(errors.WorkbookInvalid) as exc:
        import_workbook(year, data)

    assert [e.reason for e in exc.value.rows] == [str(_l("A sheet has more than %(n)d rows.", n=100))]
    assert export_tree(year) == before


def test_repeated_codes_in_thousands_of_rows_are_each_named_on_their_row(year):
    # Every indicator twice, then again: 3 × 117 rows, every code used three times (the quadratic case).
    def tripled(sheet) -> None:
        rows = [[c.value for c in sheet[r]] for r in _indicator_rows(sheet)]
        sheet.delete_rows(2, sheet.max_row)
        for copy in rows * 3:
            sheet.append(copy)

    with pytest.raises(errors.WorkbookInvalid) as exc:
        import_workbook(year, _edited(year, tripled))

    codes = [e for e in exc.value.rows if e.column == "指标编号"]
    assert codes and [e.row for e in codes] == sorted({e.row for e in codes})
    assert exc.value.more > 0


def test_a_limit_refuses_the_user_import_and_creates_nobody(ctx, demo, monkeypatch):
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    count = db.session.scalar(select(func.count()).select_from(User))
    rows = [list(users_excel.HEADERS)] + [
        [f"new-{n}", f"新用户{n}", "fgw", "department", ""] for n in range(3)
    ]
    monkeypatch.setattr(sheets, "MAX_ROWS", 3)

    with pytest.raises(errors.WorkbookInvalid) as exc:
        users_excel.import_users(admin, book(rows, titles=(users_excel.SHEET,)))

    assert [e.reason for e in exc.value.rows] == [str(_l("A sheet has more than %(n)d rows.", n=3))]
    assert db.session.scalar(select(func.count()).select_from(User)) == count
