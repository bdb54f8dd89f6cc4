"""Feedback on evaluation results (考评结果反馈) as PDF and Excel: a city's round, a city's year, the province.

The caller fills the dataclasses of `document` from the database; this module lays them out as a
`Document` and renders its PDF (the workbook is `xlsx`). The PDF embeds a TrueType CJK font (Debian's
fonts-wqy-microhei, see `make system-packages`): reportlab cannot embed the CFF outlines of Noto CJK, and
its built-in CID fonts carry no glyphs, so viewers without Adobe's Asian packs would show nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from flask_babel import format_datetime
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from models.i18n import gettext as _
from webapp.domain.results.document import (
    CITY_LIST_SEPARATOR,
    Cell,
    CityAnnualReport,
    CityRoundReport,
    Correction,
    DimensionLine,
    Document,
    IndicatorLine,
    ProvinceReport,
    Table,
    shown,
)
from webapp.domain.results.scorecard import change_text, change_title, status_of
from webapp.domain.results.xlsx import render_xlsx


def fraud_mark() -> str:
    return _("Fraud found: this indicator scores nothing")


def _time(at: datetime) -> str:
    return format_datetime(at, "yyyy-MM-dd HH:mm")


def _generated(at: datetime) -> str:
    return _("Generated %(time)s", time=_time(at))


def correction_notice(c: Correction | None) -> str:
    """What a report of a corrected round says about its figures: corrected when and why, or that they
    are an earlier version ("" for a round never corrected)."""
    if c is None or not c.corrections:
        return ""
    last = c.corrections[-1]
    if c.current:
        return _(
            "Corrected %(time)s: %(reason)s. These are the corrected figures (version %(version)d); "
            "the figures first published %(first)s remain available.",
            time=_time(last.published_at),
            reason=last.reason,
            version=c.shown,
            first=_time(c.versions[0].published_at),
        )
    return _(
        "These are the figures published %(time)s (version %(version)d), since corrected %(corrected)s "
        "(version %(latest)d): %(reason)s.",
        time=_time(c.shown_version.published_at),
        version=c.shown,
        corrected=_time(last.published_at),
        latest=last.number,
        reason=last.reason,
    )


def rank_change(places: int | None) -> str:
    """A city's rank change as a report states it: the arrow and the words ("↑2 上升2位"), or that there is
    no earlier ranking. wqy-microhei has ↑ and ↓, so the PDF shows the arrows the pages show."""
    arrow = change_text(places)
    return f"{arrow} {change_title(places)}" if arrow else change_title(places)


def _dimension_table(dimensions: Sequence[DimensionLine]) -> Table:
    return Table(
        _("Scores by dimension"),
        (_("Dimension"), _("Weight"), _("Score"), _("Rank")),
        (90, 30, 30, 30),
        [(d.name, d.weight, d.score, d.rank) for d in dimensions],
    )


def _indicator_table(lines: Sequence[IndicatorLine]) -> Table:
    ordered = sorted(lines, key=lambda line: line.lost, reverse=True)  # stable: ties keep the caller's order
    return Table(
        _("Points lost by indicator"),
        (
            _("Code"),
            _("Indicator"),
            _("Dimension"),
            _("Key point"),
            _("Weight"),
            _("Score"),
            _("Points lost"),
            _("Status"),
            _("Note"),
        ),
        (12, 40, 20, 28, 14, 14, 14, 14, 24),
        [
            (
                line.code,
                line.name,
                line.dimension,
                line.key_point,
                line.weight,
                line.score,
                line.lost,
                status_of(line.score, line.weight).title,  # 良好 / 关注 / 落后 in words: no colours
                "；".join(filter(None, (fraud_mark() if line.fraud else "", line.note))),
            )
            for line in ordered
        ],
        frozenset(i for i, line in enumerate(ordered) if line.fraud),
    )


def _scores_headers() -> tuple[str, ...]:
    return (
        _("Half-year evaluation score"),
        _("Third-quarter evaluation score"),
        _("Process score"),
        _("Year-end score"),
        _("Annual total"),
    )


def city_round_document(r: CityRoundReport) -> Document:
    return Document(
        title=_(
            "%(year)d %(round)s: feedback on evaluation results — %(city)s",
            year=r.year,
            round=r.round_title,
            city=r.city,
        ),
        summary=_(
            "Total %(total)s of %(max)s points; rank %(rank)d of %(cities)d cities.",
            total=shown(r.total),
            max=shown(r.max_total),
            rank=r.rank,
            cities=r.cities,
        ),
        facts=[
            (_("Total score"), r.total),
            (_("Maximum score"), r.max_total),
            (_("Rank"), r.rank),
            (_("Change in rank"), rank_change(r.rank_change)),
            (_("Cities evaluated"), r.cities),
        ],
        tables=[_dimension_table(r.dimensions), _indicator_table(r.lines)],
        advice=r.advice,
        generated=_generated(r.generated_at),
        notice=correction_notice(r.correction),
    )


def city_annual_document(r: CityAnnualReport) -> Document:
    scores = (r.half_year, r.q3, r.process_score, r.year_end, r.total)
    return Document(
        title=_("%(year)d annual evaluation: feedback on results — %(city)s", year=r.year, city=r.city),
        summary=_(
            "Annual total %(total)s points; rank %(rank)d of %(cities)d cities.",
            total=shown(r.total),
            rank=r.rank,
            cities=r.cities,
        ),
        facts=[
            *zip(_scores_headers(), scores, strict=True),
            (_("Rank"), r.rank),
            (_("Change in rank"), rank_change(r.rank_change)),
            (_("Cities evaluated"), r.cities),
        ],
        tables=[
            _dimension_table(r.dimensions),
            _indicator_table(r.lines),
            Table(
                _("Key-work excellence awards"), (_("Key point"),), (180,), [(award,) for award in r.awards]
            ),
        ],
        advice=r.advice,
        generated=_generated(r.generated_at),
    )


def province_document(r: ProvinceReport) -> Document:
    ranked = sorted(r.rows, key=lambda row: row.rank)
    return Document(
        title=_("%(year)d evaluation results of the city governments", year=r.year),
        summary=_(
            "Cities evaluated: %(cities)d. Fraud findings: %(frauds)d.",
            cities=len(r.rows),
            frauds=len(r.fraud),
        ),
        facts=[(_("Cities evaluated"), len(r.rows)), (_("Fraud findings"), len(r.fraud))],
        tables=[
            Table(
                _("Overall ranking"),
                (_("Rank"), _("Change"), _("City"), *_scores_headers()),
                (13, 15, 27, 25, 25, 25, 25, 25),
                [
                    (
                        row.rank,
                        change_text(row.rank_change),  # against the year-end ranking, as on the results page
                        row.city,
                        row.half_year,
                        row.q3,
                        row.process_score,
                        row.year_end,
                        row.total,
                    )
                    for row in ranked
                ],
            ),
            Table(
                _("Key-work excellence awards"),
                (_("Key point"), _("Cities awarded")),
                (70, 110),
                [(point, CITY_LIST_SEPARATOR.join(cities)) for point, cities in r.awards.items()],
            ),
            Table(
                _("Fraud findings"),
                (_("City"), _("Indicator"), _("Note")),
                (30, 100, 50),
                [(city, indicator, fraud_mark()) for city, indicator in r.fraud],
                frozenset(range(len(r.fraud))),
            ),
        ],
        advice=None,
        generated=_generated(r.generated_at),
    )


# --- PDF ----------------------------------------------------------------------------------------------

FONT_NAME = "JixiaoCJK"
FONT_PACKAGE = "fonts-wqy-microhei"
# TrueType-outline CJK fonts (file name, face in the collection), best first.
FONT_FILES = (("wqy-microhei.ttc", 0), ("wqy-zenhei.ttc", 0))
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")
MARGIN = 15 * mm
CONTENT_MM = 180  # A4's 210 mm less the margins; the tables' widths add up to it
HEADER_FILL = colors.HexColor("#DDEBF7")
MARK_FILL = colors.HexColor("#FDECEA")
MARK_TEXT = colors.HexColor("#B00020")


class FontMissing(RuntimeError):
    """No TrueType CJK font is installed for the PDF reports."""


def find_font() -> tuple[Path, int]:
    """Return the CJK font file and its face index, or raise FontMissing naming the package to install."""
    for name, face in FONT_FILES:
        for root in FONT_DIRS:
            if (root / "truetype" / "wqy" / name).is_file():
                return root / "truetype" / "wqy" / name, face
            found = next(root.rglob(name), None) if root.is_dir() else None
            if found is not None:
                return found, face
    raise FontMissing(
        f"PDF reports need a TrueType CJK font ({' or '.join(n for n, _f in FONT_FILES)}) under "
        f"{', '.join(map(str, FONT_DIRS))}: install the Debian package {FONT_PACKAGE} (`make system-packages`)."
    )


@functools.cache
def cjk_font() -> str:
    """Register the CJK font with reportlab once and return its name."""
    path, face = find_font()
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=face))
    return FONT_NAME


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    cell = ParagraphStyle("cell", base, fontSize=8.5, leading=11)
    return {
        "title": ParagraphStyle("title", base, fontSize=16, leading=22, spaceAfter=4 * mm),
        "heading": ParagraphStyle(
            "heading", base, fontSize=12, leading=16, spaceBefore=5 * mm, spaceAfter=2 * mm
        ),
        "body": base,
        "notice": ParagraphStyle("notice", base, textColor=MARK_TEXT),
        "cell": cell,
        "number": ParagraphStyle("number", cell, alignment=TA_RIGHT),
        "marked_cell": ParagraphStyle("marked_cell", cell, textColor=MARK_TEXT),
        "marked_number": ParagraphStyle("marked_number", cell, textColor=MARK_TEXT, alignment=TA_RIGHT),
    }


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _grid(
    headers: Sequence[str],
    widths: Sequence[float],
    rows: Sequence[Sequence[Cell]],
    marked: frozenset[int],
    styles: dict[str, ParagraphStyle],
) -> PdfTable:
    def cell(value: Cell, is_marked: bool) -> Paragraph:
        kind = "cell" if isinstance(value, str) else "number"
        return _para(shown(value), styles[f"marked_{kind}" if is_marked else kind])

    data = [[_para(h, styles["cell"]) for h in headers]]
    data += [[cell(value, i in marked) for value in row] for i, row in enumerate(rows)]
    grid = PdfTable(data, colWidths=[w * mm for w in widths], repeatRows=1)
    commands: list[tuple] = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("FONTNAME", (0, 0), (-1, -1), styles["cell"].fontName),  # else Table sets Helvetica around cells
    ]
    commands += [("BACKGROUND", (0, i + 1), (-1, i + 1), MARK_FILL) for i in sorted(marked)]
    grid.setStyle(TableStyle(commands))
    return grid


def render_pdf(doc: Document) -> bytes:
    """Lay the document out on A4 pages with the embedded CJK font."""
    font = cjk_font()
    styles = _styles(font)
    story: list[Flowable] = [_para(doc.title, styles["title"])]
    if doc.notice:
        story += [_para(doc.notice, styles["notice"]), Spacer(0, 2 * mm)]
    story += [_para(doc.summary, styles["body"]), Spacer(0, 3 * mm)]
    labels, values = zip(*doc.facts, strict=True)
    story.append(_grid(labels, [CONTENT_MM / len(labels)] * len(labels), [values], frozenset(), styles))
    for table in doc.tables:
        story.append(_para(table.title, styles["heading"]))
        if table.rows:
            story.append(_grid(table.headers, table.widths, table.rows, table.marked, styles))
        else:
            story.append(_para(_("None."), styles["body"]))
    if doc.advice is not None:
        story.append(_para(_("Rectification advice"), styles["heading"]))
        paragraphs = [line.strip() for line in doc.advice.splitlines() if line.strip()] or [_("None.")]
        story += [_para(paragraph, styles["body"]) for paragraph in paragraphs]

    def footer(canvas: Canvas, _template: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(MARGIN, 9 * mm, doc.generated)
        canvas.drawRightString(A4[0] - MARGIN, 9 * mm, _("Page %(page)d", page=canvas.getPageNumber()))
        canvas.restoreState()

    out = BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 5 * mm,
        title=doc.title,
        creator="Jixiao",
        initialFontName=font,  # else reportlab references Helvetica on every page
    )
    template.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


# --- the public verbs ---------------------------------------------------------------------------------


def city_round_pdf(r: CityRoundReport) -> bytes:
    return render_pdf(city_round_document(r))


def city_round_xlsx(r: CityRoundReport) -> bytes:
    return render_xlsx(city_round_document(r))


def city_annual_pdf(r: CityAnnualReport) -> bytes:
    return render_pdf(city_annual_document(r))


def city_annual_xlsx(r: CityAnnualReport) -> bytes:
    return render_xlsx(city_annual_document(r))


def province_pdf(r: ProvinceReport) -> bytes:
    return render_pdf(province_document(r))


def province_xlsx(r: ProvinceReport) -> bytes:
    return render_xlsx(province_document(r))
