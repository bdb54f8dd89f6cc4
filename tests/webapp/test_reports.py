"""Feedback reports: PDFs that carry their Chinese in an embedded TrueType font, and workbooks of numbers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D
from io import BytesIO

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from models.i18n import gettext as _
from webapp.domain.results import document, reports
from webapp.domain.results.document import (
    CityAnnualReport,
    CityRoundReport,
    DimensionLine,
    IndicatorLine,
    ProvinceReport,
    ProvinceRow,
)

CITIES = [
    "沈阳市",
    "大连市",
    "鞍山市",
    "抚顺市",
    "本溪市",
    "丹东市",
    "锦州市",
    "营口市",
    "阜新市",
    "辽阳市",
    "盘锦市",
    "铁岭市",
    "朝阳市",
    "葫芦岛市",
]
AT = datetime(2013, 3, 20, 2, 30, tzinfo=UTC)
LINES = [
    IndicatorLine("1.1", "地区生产总值增长率", "经济发展", "经济增长", D("30"), D("27.505")),
    IndicatorLine(
        "1.2",
        "固定资产投资增长率",
        "经济发展",
        "投资拉动",
        D("20"),
        D("0"),
        fraud=True,
        note="实地核验发现数据不实",
    ),
    IndicatorLine("3.4", "城镇登记失业率", "民生改善", "就业", D("15"), D("14.5")),
]
DIMENSIONS = [
    DimensionLine("经济发展", D("300"), D("271.255"), 3),
    DimensionLine("民生改善", D("200"), D("190"), 1),
]
ROUND = CityRoundReport(
    2012,
    "半年考评",
    "沈阳市",
    D("861.125"),
    D("1000"),
    3,
    14,
    DIMENSIONS,
    LINES,
    "一、杜绝弄虚作假。\n二、加快项目落地。",
    AT,
)
ANNUAL = CityAnnualReport(
    2012, "大连市", D("850.5"), D("870.25"), D("860.375"), D("880"), D("876.075"), 2, 14, DIMENSIONS, LINES,
    ["经济增长", "就业"], "继续保持。", AT,
)  # fmt: skip
PROVINCE = ProvinceReport(
    2012,
    [
        ProvinceRow(
            city,
            D(900 - 5 * i),
            D(905 - 5 * i),
            D("902.5") - 5 * i,
            D(910 - 4 * i),
            D("909.1") - 4 * i,
            i + 1,
            {0: 2, 1: -1, 2: 0}.get(i),  # 沈阳 up two places, 大连 down one, 鞍山 unchanged, the rest new
        )
        for i, city in reversed(list(enumerate(CITIES)))
    ],
    {"经济增长": ["沈阳市", "大连市"], "就业": ["盘锦市"]},
    [("锦州市", "固定资产投资增长率")],
    AT,
)


@pytest.fixture
def zh(app) -> Iterator[None]:
    """A request in the default locale, for gettext and the Shanghai clock."""
    with app.test_request_context("/"):
        yield


def squeeze(text: str) -> str:
    """Drop whitespace: table cells wrap words and characters onto new lines."""
    return "".join(text.split())


def pdf_text(data: bytes) -> str:
    return squeeze("".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages))


def test_round_pdf_shows_the_city_its_rank_and_the_fraud(zh):
    text = pdf_text(reports.city_round_pdf(ROUND))
    document = reports.city_round_document(ROUND)
    assert "沈阳市" in text and "半年考评" in text
    assert "3" in document.summary and squeeze(document.summary) in text
    assert squeeze(reports.fraud_mark()) + "；实地核验发现数据不实" in text
    assert "一、杜绝弄虚作假。" in text and squeeze(_("Rectification advice")) in text
    assert "861.13" in text and "1000.00" in text  # half-up, two decimals
    assert "2013-03-2010:30" in text  # generated 02:30 UTC, shown in Shanghai time


def test_indicators_are_sorted_by_points_lost_and_fraud_is_marked(zh):
    table = reports.city_round_document(ROUND).tables[1]
    assert [row[0] for row in table.rows] == ["1.2", "1.1", "3.4"]
    assert [row[6] for row in table.rows] == [D("20"), D("2.495"), D("0.5")]
    assert table.marked == {0}


def test_amounts_are_shown_rounded_half_up():
    assert document.shown(D("2.005")) == "2.01"
    assert document.shown(D("2.004")) == "2.00"
    assert document.shown(D("40")) == "40.00"
    assert document.shown(7) == "7"


def test_pdf_embeds_a_truetype_font_and_no_glyphless_cid_font(zh):
    for data in (reports.city_round_pdf(ROUND), reports.province_pdf(PROVINCE)):
        for page in PdfReader(BytesIO(data)).pages:
            fonts = [ref.get_object() for ref in page["/Resources"]["/Font"].values()]
            assert fonts
            for font in fonts:
                assert font["/Subtype"] == "/TrueType", font["/BaseFont"]
                assert "/FontFile2" in font["/FontDescriptor"].get_object()  # the glyphs travel with the file
                assert "/ToUnicode" in font  # so the text can be searched and copied


def test_annual_pdf_adds_the_rounds_and_the_awards(zh):
    text = pdf_text(reports.city_annual_pdf(ANNUAL))
    assert "大连市" in text
    for amount in ("850.50", "870.25", "860.38", "880.00", "876.08"):
        assert amount in text
    assert squeeze(_("Key-work excellence awards")) in text and "经济增长" in text
    assert squeeze(reports.fraud_mark()) in text and "继续保持。" in text


def test_province_pdf_ranks_every_city(zh):
    text = pdf_text(reports.province_pdf(PROVINCE))
    positions = [text.index(city) for city in CITIES]
    assert positions == sorted(positions)  # in rank order, whatever order the rows came in
    assert "锦州市固定资产投资增长率" + squeeze(reports.fraud_mark()) in text
    assert "沈阳市、大连市" in text and "857.10" in text


def test_a_long_report_repeats_the_table_header_on_every_page(zh):
    lines = [
        IndicatorLine(f"{i // 10 + 1}.{i % 10 + 1}", f"指标{i}", "经济发展", "经济增长", D("8"), D(i % 8))
        for i in range(117)
    ]
    pages = PdfReader(BytesIO(reports.city_round_pdf(replace(ROUND, lines=lines)))).pages
    assert len(pages) > 2
    for page in pages[1:]:
        assert squeeze(_("Points lost")) in squeeze(page.extract_text())


def test_empty_advice_says_none(zh):
    assert squeeze(_("None.")) in pdf_text(reports.city_round_pdf(replace(ROUND, advice="  ")))


def test_missing_font_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(reports, "FONT_DIRS", (tmp_path,))
    with pytest.raises(reports.FontMissing, match="fonts-wqy-microhei"):
        reports.find_font()


def test_round_workbook_holds_numbers_under_chinese_headers(zh):
    wb = load_workbook(BytesIO(reports.city_round_xlsx(ROUND)))
    summary, dimensions, indicators = wb.worksheets
    assert summary["A1"].value == reports.city_round_document(ROUND).title and "沈阳市" in summary["A1"].value
    facts = {row[0]: row[1] for row in summary.iter_rows(min_row=3, max_row=7, values_only=True)}
    assert facts == {
        _("Total score"): 861.125,
        _("Maximum score"): 1000,
        _("Rank"): 3,
        _("Change in rank"): "无上一轮排名",
        _("Cities evaluated"): 14,
    }
    assert summary["B3"].number_format == "0.00"

    headers = [cell.value for cell in indicators[2]]
    assert headers[:2] == ["编号", "考评指标"] and headers[4] == "分值"
    first = [cell.value for cell in indicators[3]]
    assert first[:2] == ["1.2", "固定资产投资增长率"] and first[4:7] == [20, 0, 20]
    assert headers[7] == "状态" and first[7] == "落后"
    assert reports.fraud_mark() in first[8]
    assert indicators["E3"].number_format == "0.00" and indicators["A3"].font.color.rgb == "00B00020"
    assert indicators["A4"].fill.fgColor.rgb != "00FDECEA"
    assert indicators.cell(4, 6).value == pytest.approx(27.505)  # the workbook keeps the exact score
    assert [cell.value for cell in dimensions[3]] == ["经济发展", 300, pytest.approx(271.255), 3]
    assert {sheet.freeze_panes for sheet in wb.worksheets} == {"A3"}


def test_annual_workbook_has_the_rounds_and_awards(zh):
    wb = load_workbook(BytesIO(reports.city_annual_xlsx(ANNUAL)))
    values = [row[1] for row in wb.worksheets[0].iter_rows(min_row=3, max_row=10, values_only=True)]
    assert values == [850.5, 870.25, 860.375, 880, 876.075, 2, "无上一轮排名", 14]
    awards = wb.worksheets[-1]
    assert [row[0] for row in awards.iter_rows(min_row=3, values_only=True)] == ["经济增长", "就业"]


def test_province_workbook_ranks_the_cities(zh):
    ranking, awards, fraud = load_workbook(BytesIO(reports.province_xlsx(PROVINCE))).worksheets[1:]
    rows = list(ranking.iter_rows(min_row=3, values_only=True))
    assert [(row[0], row[2]) for row in rows] == [(i + 1, city) for i, city in enumerate(CITIES)]
    assert rows[-1][3:] == (835, 840, 837.5, 858, pytest.approx(857.1))
    assert (
        ranking["A2"].value == _("Rank") and ranking["B2"].value == "变化" and ranking["C2"].value == "市政府"
    )
    assert [row[1] for row in rows[:3]] == ["↑2", "↓1", "—"] and rows[3][1] is None
    assert [row for row in awards.iter_rows(min_row=3, values_only=True)] == [
        ("经济增长", "沈阳市、大连市"),
        ("就业", "盘锦市"),
    ]
    assert next(fraud.iter_rows(min_row=3, values_only=True))[:2] == ("锦州市", "固定资产投资增长率")


def test_the_citys_report_states_each_indicators_status_and_its_rank_change(zh):
    table = reports.city_round_document(ROUND).tables[1]
    assert table.headers[7] == "状态"
    assert [row[7] for row in table.rows] == ["落后", "关注", "良好"]  # 0 of 20; 27.505 of 30; 14.5 of 15
    text = pdf_text(reports.city_round_pdf(replace(ROUND, rank_change=2)))
    assert "名次变化" in text
    assert "↑2上升2位" in text, "the arrow is drawn by the embedded font, with the words beside it"
    assert "落后" in text and "良好" in text
    assert "↓1下降1位" in pdf_text(reports.city_annual_pdf(replace(ANNUAL, rank_change=-1)))
    assert squeeze(_("No earlier ranking")) in pdf_text(reports.city_round_pdf(ROUND))


def test_the_province_report_ranks_the_cities_with_arrows(zh):
    text = pdf_text(reports.province_pdf(PROVINCE))
    assert "1↑2沈阳市" in text and "2↓1大连市" in text and "3—鞍山市" in text
    assert "4抚顺市" in text, "a city without an earlier rank shows no arrow"
