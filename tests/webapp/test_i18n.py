"""Chinese by default, English on request, and a complete catalogue."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "webapp" / "translations"


def test_pages_are_chinese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "登录" in page and "Sign in" not in page


def test_english_can_be_chosen_and_sticks(client):
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page and "登录" not in page.replace("中文", "")


def test_unknown_language_is_404(client):
    assert client.get("/lang/fr").status_code == 404


def test_times_show_in_shanghai_time(app):
    from datetime import UTC, datetime

    from flask_babel import format_datetime

    with app.test_request_context("/"):
        assert format_datetime(datetime(2012, 1, 1, 0, 0, tzinfo=UTC), "HH:mm") == "08:00"


def extracted_messages() -> set[str]:
    """Every msgid the code and templates use, as `make extract-messages` would find them."""
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = set()
    for package in ("models", "webapp", "workflows"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map, keywords=keywords
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_catalogue_is_current_and_every_message_has_a_chinese_translation():
    wanted = extracted_messages()
    assert "Sign in" in wanted
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        zh = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in read_po(fh) if m.id}
    missing = sorted(str(i) for i in wanted - set(zh))
    assert not missing, f"run `make extract-messages` and translate: {missing[:5]}"
    untranslated = sorted(
        str(i)
        for i in wanted
        if not zh[i].string
        or not all(zh[i].string if isinstance(zh[i].string, tuple) else [1])
        or zh[i].fuzzy
    )
    assert not untranslated, f"untranslated in zh: {untranslated[:5]}"


def test_the_api_answers_in_the_clients_accept_language(client, demo):
    def refusal(language: str | None) -> dict:
        headers = {"Accept-Language": language} if language else {}
        response = client.post("/api/v1/tokens", json={"username": "office"}, headers=headers)
        assert response.status_code == 422
        return response.get_json()["error"]

    english = refusal("en-GB,en;q=0.9")
    assert english["message"] == "Some fields need attention."
    assert english["fields"] == {"password": ["This field is required."]}
    chinese = refusal("zh-CN,zh;q=0.9,en;q=0.5")
    assert chinese["message"] == "部分字段需要修改。" and chinese["fields"] == {
        "password": ["此项为必填项。"]
    }
    assert refusal("en;q=0.5, zh;q=0.9")["message"] == "部分字段需要修改。", "the better quality wins"
    assert refusal(None)["message"] == refusal("fr, de;q=0.8")["message"] == "部分字段需要修改。", (
        "Chinese by default"
    )

    from tests.conftest import bearer

    headers = {**bearer(client, "office"), "Accept-Language": "en"}
    bad = client.get("/api/v1/tasks?phase=spring", headers=headers).get_json()["error"]
    assert bad["fields"]["phase"][0].startswith("phase must be one of: declaration, ")


def test_web_pages_keep_to_the_chosen_language_whatever_the_browser_asks(client):
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "登录" in page
