"""WTForms' own messages (required, too long, out of range, not a number) come in the reader's language,
from our catalogue: on a task form (page and API), which is plain WTForms, and on a web form (Flask-WTF)."""

from __future__ import annotations

import re
from pathlib import Path

import wtforms
from babel.messages.pofile import read_po
from sqlalchemy import select

from models.db import db
from models.i18n import form_translations
from models.workflow import InboxTask, TaskStatus
from tests.conftest import bearer
from tests.snapshots import simulate_once
from tests.webapp.test_i18n import TRANSLATIONS
from webapp.indicators.forms import IndicatorForm
from workflows.forms.evaluation import OpenRoundForm, ScoreRowForm
from workflows.forms.values import FormData

TOO_LONG_ZH = "长度不能超过 20 个字符。"
TOO_LONG_EN = "Field cannot be longer than 20 characters."


def test_every_wtforms_message_has_our_chinese_translation():
    pot = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
    with pot.open("rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        zh = {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(fh) if m.id}
    missing = sorted(
        m for m in wanted if not zh.get(m) or not all(zh[m] if isinstance(zh[m], tuple) else [1])
    )
    assert not missing, f"WTForms messages without Chinese: {missing}"


def test_task_forms_and_web_forms_speak_the_request_language(app):
    with app.test_request_context("/"):
        form = OpenRoundForm(formdata=FormData({}))
        assert not form.validate() and form.errors["report_deadline"] == ["此项为必填项。"]
        row = ScoreRowForm(formdata=FormData({"score": ["1" * 21]}))
        assert not row.validate() and row.errors["score"] == [TOO_LONG_ZH]
        web = IndicatorForm(formdata=FormData({"weight": ["5000"]}), meta={"csrf": False})
        assert not web.validate() and web.errors["weight"] == ["数值须在 0.01 到 1000 之间。"]
    with app.test_request_context("/"):
        from flask import session

        session["lang"] = "en"
        row = ScoreRowForm(formdata=FormData({"score": ["1" * 21]}))
        assert not row.validate() and row.errors["score"] == [TOO_LONG_EN]
    # outside a request (the CLI, the simulation) the messages are WTForms' own English
    assert form_translations.gettext("Not a valid decimal value.") == "Not a valid decimal value."


def test_a_score_grid_and_the_api_refuse_in_chinese(app, login):
    with app.app_context():
        simulate_once(2012, 5, stop_at="round.score")
        task = db.session.scalars(
            select(InboxTask)
            .where(InboxTask.form_key == "round.score", InboxTask.status == TaskStatus.OPEN)
            .order_by(InboxTask.id)
        ).first()
        guid, username = task.task_guid, task.org.code
    client = login(username)
    page = client.get(f"/tasks/{guid}").get_data(as_text=True)
    fields = dict(re.findall(r'name="(rows-\d+-(?:code|city|reported))" value="([^"]*)"', page))
    refused = client.post(f"/tasks/{guid}", data={"action": "complete", **fields, "rows-0-score": "1" * 21})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert (
        TOO_LONG_ZH in html and "Field cannot be longer" not in html and "This field is required" not in html
    )

    api = app.test_client()
    rows = [{"score": "1" * 21}]
    answer = api.post(
        f"/api/v1/tasks/{guid}/complete", json={"data": {"rows": rows}}, headers=bearer(api, username)
    )
    assert answer.status_code == 422
    messages = answer.get_json()["error"]["fields"]
    assert messages["rows-0-score"] == [TOO_LONG_ZH]
    assert not [m for ms in messages.values() for m in ms if re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", m)]


def test_a_web_form_refuses_in_chinese(login):
    admin = login("admin")
    refused = admin.post(
        "/admin/users/new", data={"username": "x" * 65, "display_name": "", "org": "", "roles": []}
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "长度不能超过 64 个字符。" in html and "此项为必填项。" in html
    assert "Field cannot be longer" not in html and "This field is required" not in html
