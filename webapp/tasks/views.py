from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from models.i18n import lazy_gettext as _l
from webapp.attachments import send_attachment
from webapp.domain import errors, sheets
from webapp.domain.process import inbox, task_page
from webapp.domain.process import tasks as task_service
from webapp.domain.rounds import score_excel
from webapp.errors import render_error
from webapp.lifecycle import page
from webapp.tasks import bp
from workflows import forms
from workflows.forms import grid

ACTIONS = ("draft", "complete", "claim", "unclaim")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = sheets.MAX_FILE  # what a workbook may unpack to is bounded in domain/sheets.py


# Context templates that are attachments: shown in the side column, not above the form.
SIDE_TEMPLATES = {"tasks/context/evidence.html", "tasks/context/declaration_files.html"}


def _page(task, form, status: int = 200, errors: dict | None = None):
    context_template = forms.get(task.form_key).template
    return (
        render_template(
            "tasks/show.html",
            task=task,
            form=form,
            phase=task_page.phase_of(task),
            grids=grid.layouts(
                form, task_page.indicator_infos(task.instance.scheme_year_id, grid.row_codes(form))
            ),
            history=task_page.task_history(task),
            returned=inbox.returned_reasons([task]).get(task.id),
            can_act=task.status.value == "open"
            and task.is_for(current_user)
            and not task.claimed_by_other(current_user),
            form_error_count=sum(len(v) for v in (errors or {}).values()),
            general_errors=(errors or {}).get("", []),
            context=task_service.task_context(task, current_user),
            context_template=None if context_template in SIDE_TEMPLATES else context_template,
            side_template=context_template if context_template in SIDE_TEMPLATES else None,
            has_template=task.form_key in score_excel.FORM_KEYS,
        ),
        status,
    )


def _invalid(exc: errors.DomainError, guid: str):
    """A refused submission: the task page again, with every field's message (nothing was kept)."""
    if not isinstance(exc, errors.Invalid):
        return render_error(exc.status, exc.message)
    task = task_service.get_task(guid, current_user)
    form = task_service.build_form(task, current_user, request.form)
    task_service.validate_form(task, current_user, form)
    return _page(task, form, 422, exc.fields or {"": [exc.message]})


@bp.route("/<guid>", methods=["GET", "POST"])
@login_required
@page(refused=_invalid)
def show(guid: str):
    task = task_service.get_task(guid, current_user)
    if request.method == "GET":
        return _page(task, task_service.build_form(task, current_user))
    action = request.form.get("action")
    if action not in ACTIONS:
        raise errors.BadRequest(str(_l("Unknown action.")))
    if action == "draft":
        task_service.save_draft(guid, current_user, request.form)
        flash(_l("Draft saved. Nothing has been submitted yet."), "success")
        return redirect(url_for("tasks.show", guid=guid))
    if action == "claim":
        task_service.claim_task(guid, current_user)
        return redirect(url_for("tasks.show", guid=guid))
    if action == "unclaim":
        task_service.unclaim_task(guid, current_user)
        return redirect(url_for("tasks.show", guid=guid))
    result = task_service.complete_task(guid, current_user, request.form)
    if result.incident:
        flash(
            _l("Your submission was saved, but the process stopped on an error; the office has been told."),
            "warning",
        )
    else:
        flash(_l("Submitted."), "success")
    if len(result.ready_for_user) == 1:
        return redirect(url_for("tasks.show", guid=result.ready_for_user[0].task_guid))
    return redirect(url_for("inbox.index"))


@bp.route("/<guid>/template.xlsx")
@login_required
@page
def score_template(guid: str):
    """The grid (a score sheet or a self-report) as an Excel template to fill in offline."""
    task = score_excel.grid_task(guid, current_user)
    data = score_excel.grid_template(task, current_user)
    return send_attachment(data, XLSX, score_excel.template_filename(task))


def _workbook_refused(exc: errors.DomainError, guid: str):
    if isinstance(exc, errors.WorkbookInvalid):
        task = task_service.get_task(guid, current_user)
        return render_template("tasks/template_errors.html", task=task, errors=exc.rows, more=exc.more), 422
    return render_error(exc.status, exc.message)


@bp.route("/<guid>/template", methods=["POST"])
@login_required
@page(refused=_workbook_refused)
def upload_template(guid: str):
    """A filled template becomes the task's draft; the user reviews and submits it on the task page."""
    task = score_excel.grid_task(guid, current_user)
    upload = request.files.get("workbook")
    if upload is None or not upload.filename:
        raise errors.BadRequest(str(_l("Choose an .xlsx file to upload.")))
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise errors.TooLarge(str(_l("The file is larger than 5 MB.")))
    score_excel.apply_template(task, current_user, data)
    if task.form_key == "round.score":
        flash(
            _l("The scores from the workbook are saved as your draft. Review them, then submit."), "success"
        )
    else:
        flash(_l("The workbook is saved as your draft. Review it, then submit."), "success")
    return redirect(url_for("tasks.show", guid=guid))
