"""The feedback reports as files: a city's (a round or the year) and the province's, PDF or xlsx,
each only for those who may see it. The results pages and the task API both download through here."""

from __future__ import annotations

from dataclasses import dataclass

from models.evaluation import RoundKind
from models.i18n import lazy_gettext as _l
from models.org import OrgKind, OrgUnit, User
from models.scheme import SchemeYear
from webapp.domain import errors
from webapp.domain.results import feedback, reports

FORMATS = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Download:
    data: bytes
    filename: str
    mimetype: str


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise errors.NotFound(str(_l("Reports come as pdf or xlsx.")))
    return FORMATS[fmt]


def report_city(code: str, user: User) -> OrgUnit:
    """The city named by its code, if the user may see its details (NotFound, Forbidden)."""
    city = OrgUnit.by_code(code)
    if city is None or city.kind != OrgKind.CITY:
        raise errors.NotFound(str(_l("There is no such city.")))
    errors.forbid_unless(
        city.details_visible_to(user), _l("Only the city itself and the office see its details.")
    )
    return city


def city_report(
    scheme_year: SchemeYear, kind: str, city: OrgUnit, user: User, fmt: str, version: int | None = None
) -> Download:
    """A city's feedback on a round (`kind` half_year, q3, year_end; the published `version` asked, else
    the latest) or on the year (`annual`)."""
    mimetype = _format(fmt)
    hidden = errors.NotFound(str(_l("These results are not published yet.")))
    if kind == "annual":
        if not feedback.annual_visible(scheme_year.id, user):
            raise hidden
        annual = feedback.city_annual_report(scheme_year, city)
        data = reports.city_annual_pdf(annual) if fmt == "pdf" else reports.city_annual_xlsx(annual)
        version = None
    else:
        if kind not in {k.value for k in RoundKind}:
            raise errors.NotFound(str(_l("There is no such round.")))
        round_ = feedback.rounds_of(scheme_year).get(RoundKind(kind))
        if round_ is None or not feedback.round_visible(round_, user):
            raise hidden
        report = feedback.city_round_report(scheme_year, round_, city, version=version)
        data = reports.city_round_pdf(report) if fmt == "pdf" else reports.city_round_xlsx(report)
    suffix = f"-v{version}" if version is not None else ""
    return Download(data, f"feedback-{scheme_year.year}-{kind}-{city.code}{suffix}.{fmt}", mimetype)


def province_report(scheme_year: SchemeYear, user: User, fmt: str) -> Download:
    """The province's table of the year's results (once the year's results are visible to the user)."""
    mimetype = _format(fmt)
    if not feedback.annual_visible(scheme_year.id, user):
        raise errors.NotFound(str(_l("These results are not published yet.")))
    report = feedback.province_report(scheme_year)
    data = reports.province_pdf(report) if fmt == "pdf" else reports.province_xlsx(report)
    return Download(data, f"results-{scheme_year.year}-province.{fmt}", mimetype)
