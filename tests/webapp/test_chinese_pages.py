"""Every page each role sees of a simulated year is Chinese: no English sentence on any page, no
organisation by its code; and the reports name cities, key points and indicators.

The year is simulated up to the departments' half-year scores: every role's pages are crawled from its
home page by following its links, the task page of every form key there is so far is opened by a
person it is for, a grid and a web form are submitted wrong and come back with their errors, and the
error pages are asked for. Then the year runs to its end, and the results, the task pages of the form
keys that came since, and the notifications are crawled again. `chinese_pages.py` says what counts as
English and which names are read as they are.
"""

from __future__ import annotations

import re
from collections import Counter
from io import BytesIO
from urllib.parse import urljoin, urlsplit

from babel.messages.pofile import read_po
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.routing import RequestRedirect

from models.db import db
from models.org import OrgKind, OrgUnit, User
from models.scheme import Indicator, KeyPoint, SchemeYear
from models.workflow import InboxTask, TaskStatus
from tests.conftest import WORKFLOWS
from tests.snapshots import simulate_once
from tests.webapp.chinese_pages import NOT_PROSE, english_on_page, visible_texts
from tests.webapp.test_i18n import TRANSLATIONS
from tests.webapp.test_reports import pdf_text, squeeze
from webapp.domain.results import queries as results

YEAR, SEED = 2012, 5
ROLES = ["office-chief", "leader", "expert1", "thirdparty", "admin", "shenyang", "bgt"]
START = ["/", "/inbox/", "/notifications/", "/help/", f"/results/{YEAR}"]
# Downloads, the API, scripts' data and what changes state on a GET are not pages to read.
SKIP = re.compile(
    r"^/(logout|lang/|static/|api/|evidence/)|\.(xlsx|pdf|bpmn|zip|json)(\?|$)|/(template|download|export)\b"
)
PER_ROUTE = 2  # pages of one route a role opens: every city's results page reads the same


def one_word_msgids() -> frozenset[str]:
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return frozenset(
            m.id for m in read_po(fh) if isinstance(m.id, str) and re.fullmatch(r"[A-Z][a-z]+", m.id)
        )


def crawl(app, client, start: list[str], limit: int = 45) -> dict[str, str]:
    """GET pages from `start` on, following same-site links breadth first: {url: html}."""
    adapter = app.url_map.bind("localhost")
    per_route: Counter[str] = Counter()
    pages: dict[str, str] = {}
    seen: set[str] = set()
    queue = list(start)
    while queue and len(pages) < limit:
        url = queue.pop(0)
        if url in seen or SKIP.search(url):
            continue
        seen.add(url)
        try:
            endpoint, _args = adapter.match(urlsplit(url).path)
        except RequestRedirect as redirect:  # a path without its trailing slash
            queue.insert(0, urlsplit(redirect.new_url)._replace(scheme="", netloc="").geturl())
            continue
        per_route[endpoint] += 1
        if per_route[endpoint] > PER_ROUTE and url not in start:
            continue
        response = client.get(url)
        if response.status_code in (301, 302, 303):
            queue.insert(
                0,
                urlsplit(urljoin(url, response.headers["Location"]))._replace(scheme="", netloc="").geturl(),
            )
            continue
        assert response.status_code == 200, f"a link to {url} answers {response.status_code}"
        if "text/html" not in response.content_type:
            continue
        html = response.get_data(as_text=True)
        pages[url] = html
        for href in re.findall(r'href="([^"#]+)', html):
            target = urlsplit(urljoin(url, href.replace("&amp;", "&")))
            if target.scheme in ("", "http") and target.netloc in ("", "localhost"):  # not data: or mailto:
                queue.append(target._replace(scheme="", netloc="").geturl())
    return pages


def someone_for(task: InboxTask) -> User:
    """A user who may act on the task (an open one), or who completed it."""
    if task.status != TaskStatus.OPEN and task.completed_by is not None:
        return task.completed_by
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    return next(u for u in users if task.is_for(u))


def task_pages(app, login, done: set[str]) -> dict[str, str]:
    """The task page of each form key not yet in `done`, as a person it is for sees it."""
    with app.app_context():
        tasks = db.session.scalars(select(InboxTask).order_by(InboxTask.id)).all()
        first: dict[str, tuple[str, str]] = {}
        for task in sorted(tasks, key=lambda t: t.status != TaskStatus.OPEN):  # open ones first
            if task.form_key not in done and task.form_key not in first:
                first[task.form_key] = (task.task_guid, someone_for(task).username)
    done.update(first)
    pages = {}
    for key, (guid, username) in first.items():
        response = login(username).get(f"/tasks/{guid}")
        assert response.status_code == 200, f"{key} as {username}: {response.status_code}"
        pages[f"{key} as {username}"] = response.get_data(as_text=True)
    return pages


def refused_pages(app, login) -> dict[str, str]:
    """Error pages, and forms that come back with their errors."""
    pages = {}
    city = login("shenyang")
    for url, status in [
        ("/no-such-page", 404),
        ("/tasks/00000000-0000-0000-0000-000000000000", 404),
        ("/admin/users", 403),
        (f"/monitor/{YEAR}", 403),
        ("/inbox/?status=nonsense", 400),
    ]:
        response = city.get(url)
        assert response.status_code == status, url
        pages[f"{status} {url}"] = response.get_data(as_text=True)
    with app.app_context():
        task = db.session.scalar(
            select(InboxTask)
            .where(InboxTask.form_key == "round.score", InboxTask.status == TaskStatus.OPEN)
            .limit(1)
        )
        guid, username = task.task_guid, someone_for(task).username
        other = db.session.scalar(
            select(InboxTask)
            .where(InboxTask.form_key == "round.score", InboxTask.org_id != task.org_id)
            .limit(1)
        ).task_guid
    dept = login(username)
    response = dept.post(
        f"/tasks/{guid}", data={"action": "complete", "rows-0-score": "abc", "rows-1-score": "1000"}
    )
    assert response.status_code == 422
    pages["score grid with errors"] = response.get_data(as_text=True)
    response = login("shenyang").get(f"/tasks/{other}")
    assert response.status_code == 403
    pages["403 another department's task"] = response.get_data(as_text=True)
    admin = login("admin")
    response = admin.post("/admin/users/new", data={"username": "", "display_name": "", "email": "x" * 300})
    assert response.status_code in (200, 422)
    pages["a new user with errors"] = response.get_data(as_text=True)
    response = admin.post(
        "/account/password", data={"current_password": "", "new_password": "x" * 300, "confirm_password": "y"}
    )
    pages["a password with errors"] = response.get_data(as_text=True)
    return pages


def test_what_counts_as_english():
    flagged = [
        "<p>New task: 半年评分</p>",
        '<nav aria-label="breadcrumb"></nav>',
        '<input placeholder="Search indicators">',
        '<input type="submit" value="Save">',
        "<td>Draft</td>",
        '<div data-confirm="Start the year now?"></div>',
        '<script type="application/json">{"label": "Points lost"}</script>',
    ]
    for html in flagged:
        assert english_on_page(html), html
    read_as_they_are = [
        "<p>下载 Excel 或 PDF 报告（BPMN 流程图）</p>",
        "<p>I112 地区生产总值 · results-2012-province.xlsx · office@example.org · /results/2012</p>",
        "<p>沈阳市 shenyang</p>",  # one lowercase word: a username, a code (the code check is separate)
        '<script>var s = "Hello world";</script><code>flask --app webapp worker</code>',
        '<div data-org="bgt" data-city="dalian"></div>',
    ]
    for html in read_as_they_are:
        assert not english_on_page(html), html
    assert english_on_page("<td>Submit</td>", frozenset({"Submit"}))


def test_no_english_sentence_and_no_code_on_any_chinese_page_of_a_simulated_year(app, login):
    single = one_word_msgids()
    pages: dict[str, str] = {}
    done: set[str] = set()
    with app.app_context():
        simulate_once(YEAR, SEED, stop_at="round.score")
    for role in ROLES:
        pages.update({f"{role} {url}": html for url, html in crawl(app, login(role), START).items()})
    pages.update(task_pages(app, login, done))
    pages.update(refused_pages(app, login))
    with app.app_context():
        simulate_once(YEAR, SEED)
    for role in ["office", "leader", "dalian", "bgt"]:
        pages.update(
            {
                f"{role} (year end) {url}": html
                for url, html in crawl(app, login(role), START, limit=25).items()
            }
        )
    pages.update(task_pages(app, login, done))

    year_keys = set(
        re.findall(
            r'name="formKey" value="([^"]+)"', "".join(p.read_text() for p in WORKFLOWS.glob("*.bpmn"))
        )
    )
    assert len(pages) > 150 and done >= year_keys - {"revision.edit", "revision.approve"}, (
        "a revision is no part of it"
    )
    assert any(re.search(r'data-testid="bell-item">.*?新任务：', h, re.S) for h in pages.values()), "the bell"
    english: dict[str, list[str]] = {}
    for where, html in pages.items():
        for phrase in english_on_page(html, single):
            english.setdefault(phrase, []).append(where)
    assert not english, "English on Chinese pages:\n" + "\n".join(
        f"{phrase}  ({len(where)}×, e.g. {where[0]})" for phrase, where in sorted(english.items())
    )

    # names, not codes: no organisation shown by its code (shenyang, bgt, dalian-fgw) outside links
    with app.app_context():
        codes = {c.code for c in db.session.scalars(select(OrgUnit))}
    coded = {
        (where, text[:80])
        for where, html in pages.items()
        if "/admin/users" not in where  # the accounts pages show usernames, which are the cities' codes
        for tag, text in visible_texts(html)
        if not tag.startswith("<script-json")
        and ":data-" not in tag  # what people read, not scripts' data
        and codes & set(re.findall(r"[a-z][\w-]*", NOT_PROSE.sub(" ", text)))
    }
    assert not coded, f"organisations shown by their code: {sorted(coded)[:10]}"


def test_reports_name_cities_key_points_and_indicators(app, login):
    """The province's and a city's feedback, PDF and workbook: names where the results keep codes."""
    with app.app_context():
        simulated = simulate_once(YEAR, SEED)
        [fraud] = simulated["fraud_findings"]
        year = db.session.scalar(select(SchemeYear).where(SchemeYear.year == YEAR))
        points = {
            str(p.number): p.name
            for p in db.session.scalars(select(KeyPoint).where(KeyPoint.scheme_year_id == year.id))
        }
        cities = {
            c.code: c.name for c in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.CITY))
        }
        indicator = db.session.scalar(
            select(Indicator).where(Indicator.scheme_year_id == year.id, Indicator.code == fraud["indicator"])
        )
        fraud_line = f"{indicator.code} {indicator.name}"
        awards = {kp: list(c) for kp, c in results.annual_results(year.id)["awards"].items()}
    office = login("office")
    book = load_workbook(BytesIO(office.get(f"/results/{YEAR}/province.xlsx").data))
    cells = [
        str(c)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for c in row
        if c is not None
    ]
    for kp, awarded in awards.items():
        assert f"{kp}. {points[kp]}" in cells, "an award names its key point"
        assert "、".join(cities[c] for c in awarded) in cells, "and its cities by name"
    assert fraud_line in cells and cities[fraud["city"]] in cells
    assert not set(cities) & {w for c in cells for w in re.findall(r"[a-z]+", c)}, "no city by its code"
    text = pdf_text(office.get(f"/results/{YEAR}/province.pdf").data)
    assert all(squeeze(f"{kp}. {points[kp]}") in text for kp in awards) and squeeze(fraud_line) in text
    assert not set(cities) & set(re.findall(r"[a-z]+", text))

    book = load_workbook(BytesIO(office.get(f"/results/{YEAR}/dashboards.xlsx").data))
    cells = [
        str(c)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for c in row
        if c is not None
    ]
    assert not set(cities) & {w for c in cells for w in re.findall(r"[a-z]+", c)}, (
        "the dashboards' workbook too"
    )
    page = office.get(f"/results/{YEAR}").get_data(as_text=True)
    assert fraud_line in page, "the results page names the indicator found fraudulent"

    [winner] = awards[next(iter(awards))][:1]
    city = login(winner)
    book = load_workbook(BytesIO(city.get(f"/results/{YEAR}/annual/city/{winner}.xlsx").data))
    cells = [
        str(c)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for c in row
        if c is not None
    ]
    kp = next(iter(awards))
    assert f"{kp}. {points[kp]}" in cells and any(cities[winner] in c for c in cells)
