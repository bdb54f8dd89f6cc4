"""A correction on the results pages and in the reports: after fraud found at the year-end verification
changed the published half-year, its pages say "更正于 …" with the reason, keep the first figures a click
away (`?version=1`), and the PDF and the workbook say the figures are corrected and when."""

from __future__ import annotations

import re
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from models.db import db
from models.org import Role, User
from models.scheme import Indicator, Scheme, SchemeYear
from tests.domain.lookup import org
from tests.domain.published import STEP, approve_the_year, fraud_indicator, publish_half_year


@pytest.fixture
def corrected(app, demo) -> dict:
    """The half-year published, then fraud on dalian's indicator found and the year approved (committed)."""
    with app.app_context():
        year = SchemeYear.find(Scheme.by_code("ln-cities"), 2012)
        publish_half_year(year)
        indicator = fraud_indicator(year)
        approve_the_year(year, (indicator, org("dalian")))
        db.session.commit()
        return {"code": indicator.code, "weight": indicator.weight}


def half_year_card(page: str) -> str:
    return page[page.index('data-testid="round-half_year"') :]


def dalian_rank(card: str) -> int:
    return int(re.search(r'<tr data-city="dalian"><td[^>]*>(\d+)', card).group(1))


def test_the_results_page_shows_the_correction_and_the_first_figures(login, corrected):
    city = login("dalian")
    card = half_year_card(city.get("/results/2012").get_data(as_text=True))
    assert 'data-testid="correction" data-version="2"' in card and "更正于" in card
    assert "年终核查发现弄虚作假" in card and f"大连市 · {corrected['code']}" in card
    assert dalian_rank(card) == 14, "the corrected ranking"
    assert 'href="/results/2012?round=half_year&amp;version=1"' in card

    first = half_year_card(city.get("/results/2012?round=half_year&version=1").get_data(as_text=True))
    assert 'data-testid="correction" data-version="1"' in first and "第1版" in first
    assert dalian_rank(first) == 2, "the ranking as first published"
    assert "/results/2012/half_year/city/dalian?version=1" in first, "details of the version shown"
    assert city.get("/results/2012?round=half_year&version=3").status_code == 404
    assert city.get("/results/2012?round=q3&version=1").status_code == 404


def test_a_citys_page_shows_the_corrected_and_the_first_figures(login, corrected):
    city = login("dalian")
    page = city.get("/results/2012/half_year/city/dalian").get_data(as_text=True)
    total = Decimal(1000) - STEP - corrected["weight"]
    assert "更正于" in page and f"{total:.2f}" in page
    first = city.get("/results/2012/half_year/city/dalian?version=1").get_data(as_text=True)
    assert f"{Decimal(1000) - STEP:.2f}" in first and 'data-version="1"' in first
    assert city.get("/results/2012/half_year/city/dalian?version=x").status_code == 404


def test_the_reports_say_the_figures_are_corrected_and_when(login, corrected):
    city = login("dalian")
    pdf = city.get("/results/2012/half_year/city/dalian.pdf")
    text = "".join("".join(p.extract_text() for p in PdfReader(BytesIO(pdf.data)).pages).split())
    assert "更正于2013-03-2010:30" in text and corrected["code"] in text  # 02:30 UTC in Shanghai time
    workbook = load_workbook(BytesIO(city.get("/results/2012/half_year/city/dalian.xlsx").data))
    summary = " ".join(str(c.value) for row in workbook.worksheets[0].iter_rows() for c in row if c.value)
    assert "更正于 2013-03-20 10:30" in summary and "第2版" in summary
    first = city.get("/results/2012/half_year/city/dalian.pdf?version=1")
    assert first.headers["Content-Disposition"].endswith("feedback-2012-half_year-dalian-v1.pdf")
    text = "".join("".join(p.extract_text() for p in PdfReader(BytesIO(first.data)).pages).split())
    assert "第1版" in text and "999.50" in text


def test_a_city_is_told_of_the_correction(login, corrected):
    page = login("dalian").get("/notifications/").get_data(as_text=True)
    assert "已公布的结果已更正" in page and f"大连市 · {corrected['code']}" in page
    assert "已公布的结果已更正" not in login("shenyang").get("/notifications/").get_data(as_text=True)


def test_the_department_page_shows_the_correction_and_the_first_figures(app, login, corrected):
    with app.app_context():
        indicator = db.session.scalar(select(Indicator).where(Indicator.code == corrected["code"]))
        department = next(
            u.username
            for u in db.session.scalars(select(User).where(User.org_id == indicator.owner_id))
            if u.has_role(Role.DEPARTMENT)
        )
    owner = login(department)
    page = owner.get("/results/2012/department").get_data(as_text=True)
    assert 'data-testid="correction" data-version="2"' in page and "更正于" in page
    assert "年终核查发现弄虚作假" in page
    assert 'href="/results/2012/department?round=half_year&amp;version=1"' in page
    assert "弄虚作假</span>" in page, "the corrected figures mark the fraud"

    first = owner.get("/results/2012/department?round=half_year&version=1").get_data(as_text=True)
    assert 'data-testid="correction" data-version="1"' in first and "第1版" in first
    half_year = first[: first.index("<h2", first.index("<h2") + 1)] if first.count("<h2") > 1 else first
    assert "弄虚作假</span>" not in half_year, "the half-year as first published had no fraud mark"
    assert owner.get("/results/2012/department?round=half_year&version=3").status_code == 404
    assert owner.get("/results/2012/department?round=q3&version=1").status_code == 404


def test_a_citys_report_states_its_rank_change_against_the_round_before(app, corrected):
    from models.evaluation import RoundKind
    from webapp.domain.results import feedback
    from webapp.domain.results import queries as results

    with app.test_request_context("/"):
        year = SchemeYear.find(Scheme.by_code("ln-cities"), 2012)
        rounds = feedback.rounds_of(year)
        # the city that lost the most in the half-year: 13th once dalian's fraud dropped dalian to 14th
        last = results.cities()[-1]
        half = feedback.city_round_report(year, rounds[RoundKind.HALF_YEAR], last)
        assert half.rank == 13 and half.rank_change is None, "the first round has no earlier ranking"
        year_end = feedback.city_round_report(year, rounds[RoundKind.YEAR_END], last)
        assert year_end.rank == 1 and year_end.rank_change == 12, "from 13th in the half-year to 1st"
        assert feedback.city_round_report(year, rounds[RoundKind.YEAR_END], org("dalian")).rank_change == 0
        province = feedback.province_report(year)
        assert all(row.rank_change is not None for row in province.rows), "each city ranked at the year-end"
