"""The administrator's pages: users and roles (create, change, deactivate, reset a password, import)."""

from __future__ import annotations

from dataclasses import asdict

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from models.i18n import lazy_gettext as _l
from models.org import Role, User
from models.scheme import SchemeYear
from webapp import lifecycle
from webapp.access import roles_required
from webapp.admin import bp
from webapp.admin.forms import AccountForm, DeployForm, DiagramUploadForm, ImportForm
from webapp.attachments import send_attachment
from webapp.domain import errors, sheets
from webapp.domain.accounts import excel as users_excel
from webapp.domain.accounts import queries as directory
from webapp.domain.accounts import users as accounts
from webapp.domain.process import definitions as process_definitions
from webapp.errors import render_error
from webapp.inputs import query_int
from webapp.lifecycle import endpoint, page
from workflows import engine

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = sheets.MAX_FILE  # what a workbook may unpack to is bounded in domain/sheets.py


def _account_form(user: User | None = None) -> AccountForm:
    form = AccountForm(
        data=(
            {
                "username": user.username,
                "display_name": user.display_name,
                "org": user.org.code,
                "roles": [r.value for r in user.roles],
                "email": user.email or "",
            }
            if user is not None and request.method == "GET"
            else None
        )
    )
    groups: dict[str, list[SelectChoice]] = {}
    for unit in directory.all_units():
        groups.setdefault(unit.kind.title, []).append(SelectChoice(unit.code, unit.name))
    form.org.choices = groups
    form.roles.choices = [SelectChoice(r.value, r.title) for r in Role]
    return form


def _values(form: AccountForm) -> dict:
    return {
        "display_name": form.display_name.data or "",
        "org": accounts.find_org(form.org.data),
        "roles": [Role(code) for code in form.roles.data or []],
        "email": form.email.data or None,
    }


def _put_on_form(form: AccountForm, exc: errors.DomainError) -> None:
    for name, messages in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.append("；".join(messages))
    if not exc.fields:
        form.form_errors.append(exc.message)


@bp.route("/users")
@roles_required(Role.ADMIN)
@page
def users():
    return render_template("admin/users.html", users=directory.all_users())


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@page
def new_user():
    form = _account_form()
    status = 200
    if form.validate_on_submit():
        try:
            user, password = accounts.create_user(
                current_user, username=form.username.data or "", **_values(form)
            )
        except errors.Invalid as exc:
            _put_on_form(form, exc)
            status = 422
        else:
            return render_template("admin/password_issued.html", user=user, password=password, created=True)
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_form.html", form=form, user=None), status


@bp.route("/users/<username>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@page
def edit_user(username: str):
    user = accounts.find_user(username)
    form = _account_form(user)
    del form.username  # it names the account; it never changes
    status = 200
    if form.validate_on_submit():
        try:
            accounts.update_user(current_user, user, **_values(form))
        except (errors.Invalid, errors.Conflict) as exc:
            _put_on_form(form, exc)
            status = 422
        else:
            flash(_l("%(name)s is saved.", name=user.display_name), "success")
            return redirect(url_for("admin.edit_user", username=user.username))
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_form.html", form=form, user=user), status


def _back_to_user(exc: errors.DomainError, username: str):
    """A refused action on a user: its page again, with the reason."""
    if isinstance(exc, errors.Conflict):
        flash(exc.message, "danger")
        return redirect(url_for("admin.edit_user", username=username))
    return render_error(exc.status, exc.message)


@bp.route("/users/<username>/active", methods=["POST"])
@roles_required(Role.ADMIN)
@page(refused=_back_to_user)
def set_active(username: str):
    user = accounts.find_user(username)
    active = request.form.get("active") == "1"
    accounts.set_active(current_user, user, active)
    message = (
        _l("%(name)s can sign in again.", name=user.display_name)
        if active
        else _l(
            "%(name)s is deactivated: their sessions and API tokens no longer work.", name=user.display_name
        )
    )
    flash(message, "success")
    return redirect(url_for("admin.edit_user", username=user.username))


@bp.route("/users/<username>/password", methods=["POST"])
@roles_required(Role.ADMIN)
@page(refused=_back_to_user)
def reset_password(username: str):
    user = accounts.find_user(username)
    password = accounts.reset_password(current_user, user)
    # shown on this page only: never put in a flash message (the session cookie is signed, not secret)
    return render_template("admin/password_issued.html", user=user, password=password, created=False)


@bp.route("/users/template.xlsx")
@roles_required(Role.ADMIN)
@page
def users_template():
    return send_attachment(users_excel.template(), XLSX, "用户导入模板.xlsx")


def _import_refused(exc: errors.DomainError):
    if isinstance(exc, errors.WorkbookInvalid):
        return render_template("admin/import.html", form=ImportForm(), problems=exc.rows, more=exc.more), 422
    return render_error(exc.status, exc.message)


@bp.route("/users/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@page(refused=_import_refused)
def import_users():
    form = ImportForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/import.html", form=form, problems=[]), status
    data = form.workbook.data.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise errors.TooLarge(str(_l("The file is larger than %(mb)d MB.", mb=MAX_UPLOAD // 1024 // 1024)))
    created = users_excel.import_users(current_user, data)
    return render_template("admin/import_done.html", created=created)


# ---------------------------------------------------------------- the year's processes


MAX_DIAGRAM = 2 * 1024 * 1024


def _processes_page(year: int, status: int = 200, **forms):
    scheme_year = lifecycle.scheme_year(year)
    drafts = process_definitions.drafts(scheme_year)
    checked = {
        d.process_id: process_definitions.validate_definition(
            current_user, d.bpmn_xml.encode("utf-8"), scheme_year
        )
        for d in drafts
    }
    return render_template(
        "admin/processes.html",
        scheme_year=scheme_year,
        next_year=SchemeYear.find(scheme_year.scheme, scheme_year.year + 1),
        drafts=drafts,
        problems=checked,
        versions=process_definitions.versions(scheme_year),
        upload=forms.get("upload") or DiagramUploadForm(),
        deploy=forms.get("deploy") or DeployForm(),
        deploying=forms.get("deploying"),
    ), status


@bp.route("/processes/<int:year>")
@roles_required(Role.ADMIN)
@page
def processes(year: int):
    return _processes_page(year)


@bp.route("/processes/<int:year>/<process_id>.bpmn")
@roles_required(Role.ADMIN)
@page
def draft_diagram(year: int, process_id: str):
    draft = process_definitions.draft_of(lifecycle.scheme_year(year), process_id)
    return send_attachment(draft.bpmn_xml.encode("utf-8"), "application/xml", f"{year}-{process_id}.bpmn")


def _diagram_refused(exc: errors.DomainError, year: int, **_values):
    if isinstance(exc, errors.Invalid):
        flash("；".join(m for ms in exc.fields.values() for m in ms) or exc.message, "danger")
        return redirect(url_for("admin.processes", year=year))
    return render_error(exc.status, exc.message)


@bp.route("/processes/<int:year>/upload", methods=["POST"])
@roles_required(Role.ADMIN)
@page(refused=_diagram_refused)
def upload_diagram(year: int):
    form = DiagramUploadForm()
    if not form.validate_on_submit():
        return _processes_page(year, 422, upload=form)
    data = form.diagram.data.read(MAX_DIAGRAM + 1)
    if len(data) > MAX_DIAGRAM:
        raise errors.TooLarge(str(_l("The file is larger than %(mb)d MB.", mb=MAX_DIAGRAM // 1024 // 1024)))
    draft = process_definitions.save_draft(current_user, lifecycle.scheme_year(year), data, engine.now())
    flash(_l("The draft of %(process)s is saved.", process=draft.process_id), "success")
    return redirect(url_for("admin.processes", year=year, _anchor=draft.process_id))


@bp.route("/processes/<int:year>/<process_id>/deploy", methods=["POST"])
@roles_required(Role.ADMIN)
@page(refused=_diagram_refused)
def deploy_draft(year: int, process_id: str):
    form = DeployForm()
    if not form.validate_on_submit():
        return _processes_page(year, 422, deploy=form, deploying=process_id)
    draft = process_definitions.draft_of(lifecycle.scheme_year(year), process_id)
    definition, created = process_definitions.deploy_draft(
        current_user, draft, form.comment.data or "", engine.now()
    )
    if created:
        flash(
            _l(
                "%(process)s version %(version)d is deployed for %(year)d.",
                process=definition.name,
                version=definition.version,
                year=year,
            ),
            "success",
        )
    else:
        flash(
            _l(
                "%(process)s is already deployed as version %(version)d.",
                process=definition.name,
                version=definition.version,
            ),
            "info",
        )
    return redirect(url_for("admin.processes", year=year))


@bp.route("/processes/<int:year>/export.zip")
@roles_required(Role.ADMIN)
@page
def export_diagrams(year: int):
    scheme_year = lifecycle.scheme_year(year)
    return send_attachment(
        process_definitions.export_year(scheme_year), "application/zip", f"{year}-流程图.zip"
    )


@bp.route("/processes/<int:year>/import", methods=["POST"])
@roles_required(Role.ADMIN)
@page(refused=_diagram_refused)
def import_diagrams(year: int):
    form = DiagramUploadForm()
    if not form.validate_on_submit():
        return _processes_page(year, 422, upload=form)
    data = form.diagram.data.read(process_definitions.MAX_ARCHIVE_BYTES + 1)
    if len(data) > process_definitions.MAX_ARCHIVE_BYTES:
        raise errors.TooLarge(
            str(
                _l(
                    "The file is larger than %(mb)d MB.",
                    mb=process_definitions.MAX_ARCHIVE_BYTES // 1024 // 1024,
                )
            )
        )
    saved = process_definitions.import_year(current_user, lifecycle.scheme_year(year), data, engine.now())
    flash(_l("%(n)d drafts are saved from the archive.", n=len(saved)), "success")
    return redirect(url_for("admin.processes", year=year))


# ---------------------------------------------------------------- the browser modeler and the diff
# (the page and its script: static/src/modeler/, bundled by `make assets`)


def _problems_json(problems: list[process_definitions.Problem]) -> list[dict[str, str]]:
    return [{"element": p.element_id, "message": p.message} for p in problems]


@bp.route("/processes/<int:year>/<process_id>/edit")
@roles_required(Role.ADMIN)
@page
def edit_diagram(year: int, process_id: str):
    scheme_year = lifecycle.scheme_year(year)
    opened = process_definitions.editable(current_user, scheme_year, process_id)
    return render_template(
        "admin/modeler.html",
        scheme_year=scheme_year,
        opened=opened,
        problems=_problems_json(
            process_definitions.validate_definition(current_user, opened.xml.encode("utf-8"), scheme_year)
        ),
        vocabulary=asdict(process_definitions.vocabulary(scheme_year)),
    )


def _diagram_from_json() -> bytes:
    """The `xml` of the modeler's JSON body, refused with the rule it breaks."""
    if (request.content_length or 0) > MAX_DIAGRAM + 64 * 1024:
        raise errors.TooLarge(
            str(_l("The diagram is larger than %(mb)d MB.", mb=MAX_DIAGRAM // 1024 // 1024))
        )
    body = request.get_json(silent=True)
    xml = body.get("xml") if isinstance(body, dict) else None
    if not isinstance(xml, str) or not xml.strip():
        raise errors.BadRequest(
            str(_l('Send the diagram as JSON: {"xml": "<bpmn:definitions …>"}.')), fields={"xml": []}
        )
    try:
        return xml.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") is valid JSON but no text
        raise errors.BadRequest(
            str(_l("The diagram must be encoded in UTF-8.")), fields={"xml": []}
        ) from None


@bp.route("/processes/<int:year>/<process_id>/draft", methods=["PUT"])
@roles_required(Role.ADMIN)
@endpoint
def save_edited_draft(year: int, process_id: str):
    scheme_year = lifecycle.scheme_year(year)
    xml = _diagram_from_json()
    draft = process_definitions.save_draft(
        current_user, scheme_year, xml, engine.now(), process_id=process_id
    )
    problems = process_definitions.validate_definition(current_user, xml, scheme_year)
    return jsonify(problems=_problems_json(problems), saved_at=draft.updated_at.isoformat())


@bp.route("/processes/<int:year>/<process_id>/check", methods=["POST"])
@roles_required(Role.ADMIN)
@endpoint
def check_diagram(year: int, process_id: str):
    problems = process_definitions.validate_definition(
        current_user, _diagram_from_json(), lifecycle.scheme_year(year)
    )
    return jsonify(problems=_problems_json(problems))


@bp.route("/processes/<int:year>/<process_id>/diff")
@roles_required(Role.ADMIN)
@page
def diff_diagram(year: int, process_id: str):
    scheme_year = lifecycle.scheme_year(year)
    version = query_int("version")
    compared = process_definitions.comparison(current_user, scheme_year, process_id, version)
    return render_template("admin/diff.html", scheme_year=scheme_year, compared=compared)
