"""The indicator system as an Excel workbook: what the export holds, round trips, and every refusal."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from models.db import db
from models.scheme import Indicator, SchemeYear, YearStatus
from webapp.domain.system.excel import (
    HEADERS,
    SHEET,
    ImportSummary,
    WorkbookInvalid,
    export_workbook,
    import_workbook,
)
from webapp.domain.system.queries import compare_trees, export_tree, find_scheme_year

DIMENSION_SHEETS = [
    "一、战略发展",
    "二、人民幸福",
    "三、经济振兴",
    "四、社会和谐",
    "五、文化繁荣",
    "六、生态文明",
    "七、自身建设",
]


@pytest.fixture
def year(ctx, demo) -> SchemeYear:
    return find_scheme_year("ln-cities", 2012)


def col(header: str) -> int:
    return HEADERS.index(header) + 1


def opened(data: bytes) -> Workbook:
    return load_workbook(BytesIO(data))


def saved(workbook: Workbook) -> bytes:
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def row_of(sheet: Worksheet, code: str) -> int:
    """The row of the indicator with this code."""
    for (cell,) in sheet.iter_rows(min_row=2, min_col=col("指标编号"), max_col=col("指标编号")):
        if cell.value == code:
            return cell.row
    raise AssertionError(f"no row for {code}")


def label_row(sheet: Worksheet, label: str) -> int:
    """The row of the subtotal (or total) row with this label."""
    for (cell,) in sheet.iter_rows(min_row=2, min_col=col("考评指标"), max_col=col("考评指标")):
        if cell.value == label:
            return cell.row
    raise AssertionError(f"no row labelled {label}")


def put(sheet: Worksheet, code: str, header: str, value) -> int:
    row = row_of(sheet, code)
    sheet.cell(row, col(header)).value = value
    return row


def edited(year: SchemeYear, edit: Callable[[Worksheet], object]) -> bytes:
    workbook = opened(export_workbook(year))
    edit(workbook[SHEET])
    return saved(workbook)


def where(exc: pytest.ExceptionInfo[WorkbookInvalid]) -> set[tuple[str, int, str]]:
    return {(e.sheet, e.row, e.column) for e in exc.value.errors}


# ---------------------------------------------------------------- export


def test_export_has_the_tree_sheet_then_one_per_dimension_with_the_headers(year):
    workbook = opened(export_workbook(year))

    assert workbook.sheetnames == [SHEET, *DIMENSION_SHEETS]
    for sheet in workbook.worksheets:
        assert [c.value for c in sheet[1]] == list(HEADERS)
        assert sheet.freeze_panes == "A2"
    assert HEADERS == (
        "维度",
        "层面",
        "要点编号",
        "考评要点",
        "指标编号",
        "考评指标",
        "分值",
        "单位",
        "牵头部门",
        "协办部门",
        "考评细则",
    )


def test_export_rows_are_filled_and_numbered_as_the_plan(year):
    sheet = opened(export_workbook(year))[SHEET]
    first = [c.value for c in sheet[row_of(sheet, "I001")]]
    co_owned = [c.value for c in sheet[row_of(sheet, "I007")]]

    assert first[:9] == [
        "一、战略发展",
        "（一）区域战略",
        1,
        "三大区域战略",
        "I001",
        "沿海经济带开发建设重点项目投资完成率",
        14,
        "%",
        "省发展改革委",
    ]
    assert first[10].startswith("完成年度计划得14分")
    assert co_owned[col("协办部门") - 1] == "省发展改革委、省财政厅"
    assert sheet.cell(row_of(sheet, "I001"), col("分值")).number_format == "0"
    indicator_rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[col("指标编号") - 1]]
    assert len(indicator_rows) == 117
    assert all(
        value not in (None, "")
        for r in indicator_rows
        for i, value in enumerate(r)
        if HEADERS[i] != "协办部门"
    )


def test_export_subtotals_are_the_sums_and_the_total_is_1000(year):
    sheet = opened(export_workbook(year))[SHEET]
    running = {"point": Decimal(0), "level": Decimal(0), "dimension": Decimal(0), "total": Decimal(0)}
    context: dict[str, str] = {}
    subtotal_rows = 0
    for cells in sheet.iter_rows(min_row=2):
        values = [c.value for c in cells]
        label, weight = values[col("考评指标") - 1], Decimal(str(values[col("分值") - 1]))
        if values[col("指标编号") - 1]:
            assert not cells[0].font.bold
            context = {"point": f"{values[2]}. {values[3]}", "level": values[1], "dimension": values[0]}
            for tier in running:
                running[tier] += weight
            continue
        assert cells[col("考评指标") - 1].font.bold and cells[col("分值") - 1].font.bold
        subtotal_rows += 1
        tier = next((t for t in ("point", "level", "dimension") if label == f"小计：{context[t]}"), "total")
        assert label == "合计" or tier != "total", label
        assert weight == running[tier], label
        running[tier] = Decimal(0)
    assert label == "合计" and weight == 1000
    assert subtotal_rows == 42 + 14 + 7 + 1


def test_each_dimension_sheet_holds_that_dimensions_rows_and_subtotals(year):
    workbook = opened(export_workbook(year))
    main = list(workbook[SHEET].iter_rows(min_row=2, values_only=True))

    pieces = [list(workbook[title].iter_rows(min_row=2, values_only=True)) for title in DIMENSION_SHEETS]

    assert [r for piece in pieces for r in piece] + [main[-1]] == main
    assert pieces[0][-1][col("考评指标") - 1] == "小计：一、战略发展"
    assert pieces[0][-1][col("分值") - 1] == 40
    assert all(r[0] in (None, "二、人民幸福") for r in pieces[1])


def test_a_name_that_looks_like_a_formula_is_exported_as_text(year):
    indicator = db.session.scalar(select(Indicator).where(Indicator.code == "I001"))
    indicator.name = "=SUM(A1:A9)"
    db.session.flush()
    before = export_tree(year)

    data = export_workbook(year)
    cell = opened(data)[SHEET].cell(2, col("考评指标"))

    assert (cell.value, cell.data_type) == ("=SUM(A1:A9)", "s")
    import_workbook(year, data)
    db.session.commit()
    assert export_tree(year) == before


def test_fractional_weights_keep_their_decimals(year):
    for code, weight in (("I001", "14.25"), ("I002", "12.75")):
        db.session.scalar(select(Indicator).where(Indicator.code == code)).weight = Decimal(weight)
    db.session.flush()
    before = export_tree(year)

    data = export_workbook(year)
    cell = opened(data)[SHEET].cell(2, col("分值"))

    assert (cell.value, cell.number_format) == (14.25, "0.##")
    import_workbook(year, data)
    db.session.commit()
    assert export_tree(year) == before


# ---------------------------------------------------------------- round trips


def test_round_trip_leaves_the_tree_identical(year):
    before = export_tree(year)

    summary = import_workbook(year, export_workbook(year))
    db.session.commit()

    assert summary == ImportSummary(dimensions=7, levels=14, key_points=42, indicators=117)
    assert export_tree(year) == before


def test_edited_weights_and_names_round_trip_whatever_the_stale_subtotals_say(year):
    before = export_tree(year)

    def edit(sheet: Worksheet) -> None:
        put(sheet, "I001", "分值", 10)
        put(sheet, "I004", "分值", 21)
        put(sheet, "I003", "考评指标", "突破辽西北重点任务完成率（修订）")

    import_workbook(year, edited(year, edit))
    db.session.commit()
    after = export_tree(year)

    changes = compare_trees(after, before)
    assert [(old["weight"], new["weight"]) for old, new in changes.reweighted] == [(14, 10), (17, 21)]
    assert [new["name"] for _old, new in changes.renamed] == ["突破辽西北重点任务完成率（修订）"]
    assert (changes.added, changes.removed, changes.moved) == ([], [], [])
    assert after["total_weight"] == 1000
    assert after["dimensions"][0]["weight"] == 36


def test_tiers_without_numbering_prefixes_and_blank_rows_are_accepted(year):
    before = export_tree(year)

    def edit(sheet: Worksheet) -> None:
        for dimension, level in sheet.iter_rows(min_row=2, max_col=2):
            if dimension.value:
                dimension.value = dimension.value.split("、", 1)[1]
                level.value = level.value.replace("（", "(").replace("）", ")")
        sheet.insert_rows(row_of(sheet, "I010"))

    import_workbook(year, edited(year, edit))
    db.session.commit()

    assert export_tree(year) == before


def test_a_workbook_that_declares_too_small_a_size_is_read_whole(year):
    # Some tools write a wrong <dimension>; openpyxl's read-only mode would stop reading there.
    before = export_tree(year)
    source = zipfile.ZipFile(BytesIO(export_workbook(year)))
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content, n = re.subn(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:C5"', content)
                assert n == 1
            target.writestr(item, content)

    summary = import_workbook(year, out.getvalue())
    db.session.commit()

    assert summary.indicators == 117
    assert export_tree(year) == before


def test_co_owners_are_matched_by_code_name_or_short_name(year):
    def edit(sheet: Worksheet) -> None:
        put(sheet, "I007", "协办部门", "czt，辽宁省发展和改革委员会")
        put(sheet, "I001", "牵头部门", "fgw")

    import_workbook(year, edited(year, edit))
    db.session.commit()
    indicator = db.session.scalar(select(Indicator).where(Indicator.code == "I007"))

    assert sorted(o.code for o in indicator.co_owners) == ["czt", "fgw"]


# ---------------------------------------------------------------- refusals


def weight_abc(sheet: Worksheet):
    return {(SHEET, put(sheet, "I001", "分值", "abc"), "分值")}


def weight_abc_after_blank_rows(sheet: Worksheet):
    sheet.insert_rows(5, amount=2)
    return weight_abc(sheet) | {(SHEET, put(sheet, "I010", "分值", None), "分值")}


def negative_weight(sheet: Worksheet):
    return {(SHEET, put(sheet, "I002", "分值", -5), "分值")}


def total_not_1000(sheet: Worksheet):
    put(sheet, "I001", "分值", 15)
    return {(SHEET, label_row(sheet, "合计"), "分值")}


def unknown_owner(sheet: Worksheet):
    return {(SHEET, put(sheet, "I010", "牵头部门", "省不存在厅"), "牵头部门")}


def unknown_co_owner(sheet: Worksheet):
    return {(SHEET, put(sheet, "I007", "协办部门", "省财政厅、某某局"), "协办部门")}


def duplicate_code(sheet: Worksheet):
    first, second = row_of(sheet, "I020"), put(sheet, "I021", "指标编号", "I020")
    return {(SHEET, first, "指标编号"), (SHEET, second, "指标编号")}


def duplicate_name(sheet: Worksheet):
    first = row_of(sheet, "I030")
    second = put(sheet, "I031", "考评指标", sheet.cell(first, col("考评指标")).value)
    return {(SHEET, first, "考评指标"), (SHEET, second, "考评指标")}


def empty_key_point(sheet: Worksheet):
    # I080 is the only indicator of key point 23 (民族团结创建); its subtotal row stays behind
    sheet.delete_rows(row_of(sheet, "I080"))
    return {
        (SHEET, label_row(sheet, "小计：23. 民族团结创建"), ""),
        (SHEET, label_row(sheet, "合计"), "分值"),
    }


def missing_cells(sheet: Worksheet):
    row = row_of(sheet, "I012")
    headers = ("指标编号", "考评指标", "要点编号", "牵头部门")
    for header in headers:
        sheet.cell(row, col(header)).value = None
    return {(SHEET, row, h) for h in headers}


def key_point_not_a_number(sheet: Worksheet):
    return {(SHEET, put(sheet, "I012", "要点编号", "4.5"), "要点编号")}


def key_point_renamed_on_one_row(sheet: Worksheet):
    return {(SHEET, put(sheet, "I005", "考评要点", "生活质量"), "考评要点")}


def key_point_under_another_level(sheet: Worksheet):
    return {(SHEET, put(sheet, "I005", "层面", "（三）民生改善"), "要点编号")}


def level_under_two_dimensions(sheet: Worksheet):
    # I033 is the last indicator of 二、人民幸福 / （四）公共服务, so the level was first seen under 人民幸福
    return {(SHEET, put(sheet, "I033", "维度", "三、经济振兴"), "层面")}


def too_long_code(sheet: Worksheet):
    return {(SHEET, put(sheet, "I040", "指标编号", "I" * 17), "指标编号")}


def missing_header(sheet: Worksheet):
    sheet.cell(1, col("单位")).value = None
    return {(SHEET, 1, "单位")}


def no_tree_sheet(sheet: Worksheet):
    sheet.title = "Sheet1"
    return {(SHEET, 0, "")}


def several_problems(sheet: Worksheet):
    return (
        weight_abc(sheet) | unknown_owner(sheet) | duplicate_code(sheet) | key_point_renamed_on_one_row(sheet)
    )


BROKEN = [
    weight_abc,
    weight_abc_after_blank_rows,
    negative_weight,
    total_not_1000,
    unknown_owner,
    unknown_co_owner,
    duplicate_code,
    duplicate_name,
    empty_key_point,
    missing_cells,
    key_point_not_a_number,
    key_point_renamed_on_one_row,
    key_point_under_another_level,
    level_under_two_dimensions,
    too_long_code,
    missing_header,
    no_tree_sheet,
    several_problems,
]


@pytest.mark.parametrize("breaks", BROKEN, ids=[f.__name__ for f in BROKEN])
def test_a_broken_workbook_names_every_problem_and_changes_nothing(year, breaks):
    before = export_tree(year)
    workbook = opened(export_workbook(year))
    expected = breaks(workbook[SHEET])

    with pytest.raises(WorkbookInvalid) as exc:
        import_workbook(year, saved(workbook))

    assert where(exc) == expected
    assert all(e.reason for e in exc.value.errors)
    assert export_tree(year) == before


@pytest.mark.parametrize("data", [b"not a workbook", b"PK\x03\x04 truncated zip", saved(Workbook())[:200]])
def test_a_file_that_is_not_an_xlsx_is_refused(year, data):
    before = export_tree(year)

    with pytest.raises(WorkbookInvalid) as exc:
        import_workbook(year, data)

    assert where(exc) == {("", 0, "")}
    assert export_tree(year) == before


def test_errors_come_in_row_order(year):
    def edit(sheet: Worksheet) -> None:
        put(sheet, "I050", "牵头部门", "某某局")
        put(sheet, "I002", "分值", "abc")
        put(sheet, "I002", "指标编号", "I050")

    with pytest.raises(WorkbookInvalid) as exc:
        import_workbook(year, edited(year, edit))

    located = [(e.row, e.column) for e in exc.value.errors]
    assert located == sorted(located, key=lambda rc: (rc[0], HEADERS.index(rc[1])))
    assert len(located) == 4


def test_an_approved_system_is_not_replaced(year):
    data = export_workbook(year)
    year.status = YearStatus.APPROVED
    db.session.flush()
    before = export_tree(year)

    with pytest.raises(WorkbookInvalid) as exc:
        import_workbook(year, data)

    assert where(exc) == {("", 0, "")}
    assert len(exc.value.errors) == 1
    assert export_tree(year) == before


def test_a_system_under_revision_can_be_replaced(year):
    year.status = YearStatus.REVISING
    db.session.flush()

    summary = import_workbook(year, edited(year, lambda sheet: put(sheet, "I003", "单位", "项")))

    assert summary.indicators == 117
    assert db.session.scalar(select(Indicator.unit).where(Indicator.code == "I003")) == "项"
