"""Role guides: one per role in Chinese and English, every phase anchored, the year's dates when the
database has them, the plan's months otherwise; and the help link on every page."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from models.db import db
from models.formation import Phase
from models.org import Role, User
from models.scheme import Scheme, SchemeYear
from webapp.domain.process import cycle as cycle_service
from webapp.domain.process import help as help_service

ROLES = ["leadership", "office", "department", "city", "expert", "third_party", "admin"]
# (words every guide of the language uses, the guide's lang attribute)
LANGUAGES = {
    "zh_CN": ("需要您做的", '<article lang="zh-CN"'),
    "en": ("What it asks of you", '<article lang="en"'),
}


def in_language(client, code: str):
    assert client.get(f"/lang/{code}").status_code == 302
    return client


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_guide_in_both_languages_with_every_phase(client, demo, role, lang):
    page = in_language(client, lang).get(f"/help/{role}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    asks, title = LANGUAGES[lang]
    assert asks in html and title in html
    assert f'data-role="{role}"' in html
    for phase in Phase:
        assert f'<section id="{phase.value}"' in html, f"/help/{role}#{phase.value} has a target"
    other = "en" if lang == "zh_CN" else "zh_CN"
    assert LANGUAGES[other][0] not in html, "the guide is in one language"


def test_the_guides_name_the_tasks_their_role_is_given(client, demo):
    """Spot checks against the BPMN: each role's guide names its user tasks."""
    in_language(client, "zh_CN")
    expected = {
        "leadership": ["审定指标体系", "审定考评结果", "审定年度考评结果和表彰建议"],
        "office": [
            "发布申报标准",
            "审核指标申报",
            "起草指标体系",
            "处理意见并修改",
            "开启考评",
            "绩效办复核",
        ],
        "department": ["申报考评指标", "部门反馈意见", "部门评分", "实地察访核验", "修改评分"],
        "city": ["市承接部门反馈意见", "城市自评", "修改自评", "城市年终自评", "接收考评结果反馈"],
        "expert": ["专家评审"],
    }
    for role, tasks in expected.items():
        html = client.get(f"/help/{role}").get_data(as_text=True)
        for name in tasks:
            assert name in html, f"{role} guide names {name}"


def test_without_a_calendar_the_guide_gives_the_plans_months(client, demo):
    html = in_language(client, "en").get("/help/department").get_data(as_text=True)
    assert "The plan&#39;s calendar" in html or "The plan's calendar" in html
    assert re.search(r'data-testid="plan-declaration">\s*January', html)
    assert re.search(r'data-testid="plan-half_year">\s*June to July', html)
    assert "· January" in html, "the phase heading says when"


def test_with_a_calendar_the_guide_reads_the_years_deadlines(app, client, demo):
    with app.app_context():
        scheme = Scheme.by_code("ln-cities")
        year = db.session.scalar(select(SchemeYear).where(SchemeYear.scheme_id == scheme.id))
        calendar = cycle_service.ensure_calendar(year)
        calendar[Phase.HALF_YEAR].deadline = cycle_service.local_end(date(year.year, 7, 25))
        db.session.commit()
    html = in_language(client, "en").get("/help/city").get_data(as_text=True)
    assert "The 2012 calendar" in html
    assert re.search(r'data-testid="deadline-half_year">\s*Jul 25, 2012', html)
    assert re.search(r'data-testid="deadline-declaration">\s*Jan 31, 2012', html)
    assert 'data-testid="plan-declaration"' not in html


@pytest.mark.parametrize(
    ("username", "guide"),
    [
        ("leader", "leadership"),
        ("office", "office"),
        ("fgw", "department"),
        ("shenyang", "city"),
        ("shenyang-jxb", "city"),  # counterpart offices hold the city role
        ("expert1", "expert"),
        ("thirdparty", "third_party"),
        ("admin", "admin"),
    ],
)
def test_help_picks_the_guide_of_the_active_role(login, username, guide):
    response = login(username).get("/help/")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/help/{guide}")


def test_a_user_with_two_roles_gets_the_guide_of_the_role_they_work_in(app, login):
    with app.app_context():
        chief = db.session.scalar(select(User).where(User.username == "office-chief"))
        assert set(chief.roles) >= {Role.OFFICE, Role.ADMIN}
    client = login("office-chief")
    assert client.post("/role/admin").status_code == 302
    assert client.get("/help/").headers["Location"].endswith("/help/admin")


def test_signed_out_visitors_see_the_list_of_guides(client, demo):
    html = in_language(client, "en").get("/help/").get_data(as_text=True)
    for role in ROLES:
        assert f'data-testid="guide-{role}"' in html
    assert client.get("/help/office").status_code == 200


def test_an_unknown_guide_is_not_found(client, demo):
    assert client.get("/help/nobody").status_code == 404
    assert client.get("/help/counterpart").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/", "/inbox/", "/indicators/", "/results/", "/notifications/", "/account/password", "/help/city"],
)
def test_every_page_has_the_help_link(login, path):
    html = login("shenyang").get(path, follow_redirects=True).get_data(as_text=True)
    link = re.search(r'<a[^>]*href="([^"]+)"[^>]*data-testid="help-link"', html)
    assert link and link.group(1) == "/help/"
    assert "bi-question-circle" in html


def test_the_sign_in_page_has_the_help_link_too(client, demo):
    assert 'data-testid="help-link"' in client.get("/login").get_data(as_text=True)


def test_every_guide_role_has_a_summary_and_a_template_per_language(app):
    from pathlib import Path

    templates = Path(app.root_path) / "help" / "templates" / "help"
    for role in help_service.GUIDE_ROLES:
        assert role in help_service.GUIDE_SUMMARIES
        for lang in ("zh", "en"):
            assert (templates / lang / f"{role.value}.html").is_file()
