"""Task API v1, the year: start it, open a phase early, compose the draft system, read results,
download reports, attach evidence and fill grids from workbooks. Each calls the verb the web calls,
with the web's permissions."""

from __future__ import annotations

from flask import current_app, g, jsonify, request

from models.evaluation import Evidence
from models.formation import DeclarationFile, Phase
from models.i18n import lazy_gettext as _l
from models.org import Role, User
from models.scheme import Scheme, SchemeYear
from webapp import lifecycle
from webapp.api import bp
from webapp.api.payloads import Names, annual_json, round_json, round_kind
from webapp.api.views import api_login_required, json_body, task_json
from webapp.attachments import send_attachment
from webapp.domain import declaration_files, errors
from webapp.domain.process import cycle as cycle_service
from webapp.domain.process import tasks as task_service
from webapp.domain.results import downloads, feedback
from webapp.domain.results import queries as results
from webapp.domain.rounds import evidence as evidence_service
from webapp.domain.rounds import score_excel
from webapp.domain.system import files as system_files
from webapp.domain.system import operations as system_operations
from webapp.inputs import form_text
from webapp.lifecycle import endpoint
from workflows import engine

CYCLE_VIEWERS = (Role.OFFICE, Role.LEADERSHIP, Role.ADMIN)  # as the cycle page
MAX_WORKBOOK = 5 * 1024 * 1024  # as the task page's upload
XLSX = downloads.FORMATS["xlsx"]


def _office(user: User) -> None:
    """Starting a year and opening a phase are the office's, as on the cycle page."""
    errors.forbid_unless(
        user.has_role(Role.OFFICE), _l("Only the performance office starts years and phases.")
    )


def _scheme() -> Scheme:
    scheme = Scheme.by_code(current_app.config["DEFAULT_SCHEME"])
    if scheme is None:
        raise errors.NotFound(str(_l("There is no such scheme.")))
    return scheme


def _cycle_json(scheme_year: SchemeYear) -> dict:
    instance = cycle_service.annual_instance(scheme_year)
    waiting = cycle_service.waiting_phases(instance) if instance is not None else []
    return {
        "year": scheme_year.year,
        "system_status": scheme_year.status.value,
        "instance": (
            {"id": instance.id, "status": instance.status.value, "business_key": instance.business_key}
            if instance is not None
            else None
        ),
        "waiting_phases": [{"code": p.value, "name": p.title} for p in waiting],
        "rules": {
            "fraud_bars_award": scheme_year.fraud_bars_award,
            "locked": cycle_service.rules_locked(scheme_year),
        },
        "calendar": [
            {
                "phase": {"code": row.phase.value, "name": row.phase.title},
                "opens_at": row.opens_at.isoformat(),
                "deadline": row.deadline.isoformat(),
            }
            for row in cycle_service.calendar(scheme_year)
        ],
    }


@bp.get("/v1/years/<int:year>/cycle")
@api_login_required
@endpoint
def year_cycle(year: int):
    """The year's annual process, the phases it waits for (which the office may open now) and its calendar."""
    errors.forbid_unless(
        g.api_user.has_any_role(CYCLE_VIEWERS), _l("Only the office, leadership and admins follow the cycle.")
    )
    return jsonify(_cycle_json(lifecycle.scheme_year(year)))


@bp.post("/v1/years/<int:year>/cycle")
@api_login_required
@endpoint
def start_year(year: int):
    """Start the year's annual process (the year is made from the one before when it does not exist)."""
    _office(g.api_user)
    cycle_service.start_annual_cycle(_scheme(), year, g.api_user)
    return jsonify(_cycle_json(lifecycle.scheme_year(year))), 201


@bp.post("/v1/years/<int:year>/phases/<phase>/open")
@api_login_required
@endpoint
def open_phase(year: int, phase: str):
    """Open a phase the year is waiting for before its date."""
    _office(g.api_user)
    if phase not in {p.value for p in Phase}:
        raise errors.NotFound(str(_l("There is no such phase.")))
    scheme_year = lifecycle.scheme_year(year)
    instance = cycle_service.annual_instance(scheme_year)
    if instance is None:
        raise errors.Conflict(str(_l("The %(year)d cycle has not been started.", year=year)))
    cycle_service.start_phase_now(instance.id, Phase(phase), g.api_user)
    return jsonify(_cycle_json(scheme_year))


@bp.put("/v1/years/<int:year>/rules")
@api_login_required
@endpoint
def set_rules(year: int):
    """Set the year's award rule, as the cycle page does (office, admin; until the annual approval)."""
    bars = json_body().get("fraud_bars_award")
    if not isinstance(bars, bool):
        raise errors.Invalid.on("fraud_bars_award", _l("fraud_bars_award must be true or false."))
    scheme_year = lifecycle.scheme_year(year)
    cycle_service.set_fraud_bars_award(scheme_year, bars, g.api_user, engine.now())
    return jsonify(_cycle_json(scheme_year))


@bp.post("/v1/years/<int:year>/system/compose")
@api_login_required
@endpoint
def compose_system(year: int):
    """Replace the year's draft indicators by the accepted declared ones, as the indicator page does."""
    count = system_operations.compose_from_declarations(lifecycle.scheme_year(year), g.api_user)
    return jsonify({"year": year, "indicators": count})


# ---------------------------------------------------------------- results and reports


def _version() -> int | None:
    raw = request.args.get("version")
    if not raw:  # absent or empty, as every optional parameter of the API
        return None
    if not raw.isdigit():
        raise errors.Invalid.on("version", _l("Give the version as a number."))
    return int(raw)


@bp.get("/v1/years/<int:year>/results")
@api_login_required
@endpoint
def year_results(year: int):
    """Published results (the office and the leadership also before publication); a city's details only for itself."""
    scheme_year = lifecycle.scheme_year(year)
    user, names = g.api_user, Names(scheme_year)
    rounds = {
        kind.value: round_json(round_, results.shown_results(round_), names, user)
        for kind, round_ in feedback.rounds_of(scheme_year).items()
        if feedback.round_visible(round_, user)
    }
    annual = None
    if feedback.annual_visible(scheme_year.id, user):
        record = results.annual_result(scheme_year.id)
        if record is not None and record.results:
            annual = annual_json(record.results, record.published_at is not None, names)
    return jsonify({"year": year, "rounds": rounds, "annual": annual})


@bp.get("/v1/years/<int:year>/rounds/<kind>/results")
@api_login_required
@endpoint
def round_results(year: int, kind: str):
    """One round's results: as published (`?version=` an earlier published version), or as approved for insiders."""
    scheme_year = lifecycle.scheme_year(year)
    chosen = round_kind(kind)
    round_ = feedback.rounds_of(scheme_year).get(chosen) if chosen else None
    if round_ is None or not feedback.round_visible(round_, g.api_user):
        raise errors.NotFound(str(_l("These results are not published yet.")))
    version = _version()
    data = results.shown_results(round_, version)
    return jsonify({"year": year, **round_json(round_, data, Names(scheme_year), g.api_user, version)})


def _file(download: downloads.Download):
    return send_attachment(download.data, download.mimetype, download.filename)


@bp.get("/v1/years/<int:year>/reports/<kind>/<city>.<format>")
@api_login_required
@endpoint
def city_report(year: int, kind: str, city: str, format: str):
    """A city's feedback report on a round (half_year, q3, year_end) or on the year (annual), PDF or xlsx."""
    scheme_year = lifecycle.scheme_year(year)
    unit = downloads.report_city(city, g.api_user)
    return _file(downloads.city_report(scheme_year, kind, unit, g.api_user, format, _version()))


@bp.get("/v1/years/<int:year>/reports/province.<format>")
@api_login_required
@endpoint
def province_report(year: int, format: str):
    """The province's table of the year's results, PDF or xlsx."""
    return _file(downloads.province_report(lifecycle.scheme_year(year), g.api_user, format))


# ---------------------------------------------------------------- evidence and workbooks of a task


def _upload(name: str, limit: int) -> tuple[str, bytes]:
    file = request.files.get(name)
    if file is None or not file.filename:
        raise errors.Invalid.on(name, _l("Send the file as multipart/form-data under '%(name)s'.", name=name))
    data = file.read(limit + 1)
    file.close()
    return file.filename, data


def _file_json(file: Evidence | DeclarationFile, **about: dict) -> dict:
    """A stored file as the API gives it, with what it is about (an indicator and city, a department)."""
    return {
        "id": file.id,
        "filename": file.filename,
        "content_type": file.content_type,
        "size": file.size,
        "sha256": file.sha256,
        **about,
        "uploaded_at": file.uploaded_at.isoformat(),
    }


def _evidence_json(evidence: Evidence) -> dict:
    return _file_json(
        evidence,
        indicator={"code": evidence.indicator.code, "name": evidence.indicator.name},
        city={"code": evidence.city.code, "name": evidence.city.name},
    )


@bp.get("/v1/tasks/<guid>/evidence")
@api_login_required
@endpoint
def task_evidence(guid: str):
    """The files attached to the task."""
    task = task_service.get_task(guid, g.api_user)
    return jsonify({"files": [_evidence_json(e) for e in evidence_service.for_task(task)]})


@bp.post("/v1/tasks/<guid>/evidence")
@api_login_required
@endpoint
def attach_evidence(guid: str):
    """Attach a file (multipart: `file`, `indicator`, and `city` for a verification) to the task."""
    filename, data = _upload("file", evidence_service.MAX_BYTES)
    evidence = evidence_service.attach(
        guid,
        g.api_user,
        form_text("indicator"),
        form_text("city") or None,
        evidence_service.Upload(filename, data),
        evidence_service.storage_root(current_app.instance_path),
    )
    return jsonify(_evidence_json(evidence)), 201


def _declaration_file_json(file: DeclarationFile) -> dict:
    return _file_json(file, department={"code": file.department.code, "name": file.department.name})


@bp.get("/v1/tasks/<guid>/declaration-files")
@api_login_required
@endpoint
def task_declaration_files(guid: str):
    """The files of the declaration a declare or declaration-review task concerns."""
    task = task_service.get_task(guid, g.api_user)
    return jsonify({"files": [_declaration_file_json(f) for f in system_files.for_task(task)]})


@bp.post("/v1/tasks/<guid>/declaration-files")
@api_login_required
@endpoint
def attach_declaration_file(guid: str):
    """Attach a file (multipart `file`) to the declaration of an open declare task."""
    filename, data = _upload("file", evidence_service.MAX_BYTES)
    file = declaration_files.attach(
        guid,
        g.api_user,
        evidence_service.Upload(filename, data),
        evidence_service.storage_root(current_app.instance_path),
    )
    return jsonify(_declaration_file_json(file)), 201


@bp.get("/v1/declaration-files/<int:file_id>")
@api_login_required
@endpoint
def declaration_file(file_id: int):
    """The file's bytes, for the declaring department and those who review and approve."""
    file, path = declaration_files.readable(
        file_id, g.api_user, evidence_service.storage_root(current_app.instance_path)
    )
    return send_attachment(path, file.content_type, file.filename)


@bp.delete("/v1/declaration-files/<int:file_id>")
@api_login_required
@endpoint
def remove_declaration_file(file_id: int):
    """Remove a file while the department's declare task is open."""
    declaration_files.remove(file_id, g.api_user)
    return "", 204


@bp.get("/v1/tasks/<guid>/template.xlsx")
@api_login_required
@endpoint
def grid_template(guid: str):
    """The task's grid (a score sheet, a self-report) as an Excel template to fill in offline."""
    task = score_excel.grid_task(guid, g.api_user)
    data = score_excel.grid_template(task, g.api_user)
    return send_attachment(data, XLSX, score_excel.template_filename(task))


@bp.post("/v1/tasks/<guid>/template")
@api_login_required
@endpoint
def upload_template(guid: str):
    """A filled template (multipart `workbook`) becomes the task's draft; every problem comes back at once."""
    task = score_excel.grid_task(guid, g.api_user)
    _name, data = _upload("workbook", MAX_WORKBOOK)
    if len(data) > MAX_WORKBOOK:
        raise errors.TooLarge(str(_l("The file is larger than 5 MB.")))
    try:
        score_excel.apply_template(task, g.api_user, data)
    except errors.WorkbookInvalid as exc:
        fields = {}
        for problem in exc.rows:
            fields.setdefault(f"{problem.sheet}!{problem.row} {problem.column}".strip(), []).append(
                str(problem.reason)
            )
        raise errors.Invalid(str(_l("Some fields need attention.")), fields=fields) from None
    return jsonify(task_json(task, detail=True))
