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
