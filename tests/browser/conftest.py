"""Browser tests: the app served on a free local port, Debian's Chromium driven by Playwright.

The year starts from the session's simulation snapshot at the cities' self-reports
(`tests/snapshots.py`); the browser acts in it where a person would, and the simulation does everyone
else's work between the tests. The server's clock is the simulation's (2012), so deadlines mean what
they meant that year. Screenshots of the main pages go to SCREENSHOT_DIR
(`build/screenshots/<database>/`, the database being sqlite or postgresql, unless JIXIAO_SCREENSHOTS
names another folder). When a test fails, each of its signed-in pages is screenshotted
(`FAILED-<test>-<n>.png` there) and its last requests and console lines are printed with the failure.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

from models.db import db
from models.scheme import Scheme, SchemeYear
from tests.conftest import DEMO_PASSWORD, make_app
from tests.snapshots import simulate_once
from webapp import simulation
from webapp.domain.process import cycle as cycle_service
from workflows import engine

YEAR, SEED = 2012, 5

CHROMIUM = os.environ.get("JIXIAO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(
    os.environ.get("JIXIAO_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "build" / "screenshots"
)
OFFICE_SCREEN = {"width": 1366, "height": 768}
PHONE_SCREEN = {"width": 390, "height": 844}


class ClockedApp:
    """Serve every request on the simulation's clock (the engine's clock is per thread)."""

    def __init__(self, wsgi_app, clock: Callable):
        self.wsgi_app, self.clock = wsgi_app, clock

    def __call__(self, environ, start_response):
        with engine.use_clock(self.clock):
            return self.wsgi_app(environ, start_response)


@dataclass
class World:
    app: Flask
    base_url: str
    run: simulation.Run
    database: str  # sqlite or postgresql: the screenshots' folder

    def finish_year(self) -> dict:
        """A whole simulated year (the session's snapshot of it), in place of this one."""
        with self.app.app_context():
            summary = simulate_once(YEAR, SEED)
            self.run.clock = self.run.clock.replace(year=YEAR + 1, month=5, day=1)
            return summary

    def advance(self, stop_at: str | None = None) -> bool:
        """Let the simulation do everyone's work until a `stop_at` task is open (or the year ends)."""
        with self.app.app_context():
            db.session.add(self.run.annual)
            stopped = simulation.advance(self.run, stop_at)
            db.session.commit()
            return stopped

    def query(self, fn: Callable):
        with self.app.app_context(), engine.use_clock(self.run.clock):
            return fn()


def browser_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app for a module of browser tests: its own instance folder, CSRF on, the demo data loaded."""
    instance = tmp_path_factory.mktemp("browser-instance")
    os.environ["JIXIAO_INSTANCE_PATH"] = str(instance)
    app = make_app(database_url, instance, WTF_CSRF_ENABLED=True, TESTING=False)
    from webapp.demo.load import load_demo

    with app.app_context():
        load_demo(DEMO_PASSWORD, "test")
        db.session.commit()
    return app


def database_name(database_url: str) -> str:
    """sqlite or postgresql: the screenshots' folder."""
    return database_url.split(":", 1)[0].split("+", 1)[0]


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """Serve the app on a free local port in a thread (its base URL); afterwards empty every table."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the failures
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.rollback()
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
            db.engine.dispose()
        os.environ.pop("JIXIAO_INSTANCE_PATH", None)


@pytest.fixture(scope="module")
def world(database_url: str, _schema, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    app = browser_app(database_url, tmp_path_factory)
    with app.app_context():
        stopped = simulate_once(YEAR, SEED, stop_at="round.self_report")
        scheme = Scheme.by_code(app.config["DEFAULT_SCHEME"])
        run = simulation.Run(
            rng=random.Random(SEED),
            clock=datetime.fromisoformat(stopped["clock"]),
            scheme=scheme,
            year=YEAR,
            annual=cycle_service.annual_instance(SchemeYear.find(scheme, YEAR)),
        )
    app.wsgi_app = ClockedApp(app.wsgi_app, lambda: run.clock)
    with served(app) as base_url:
        yield World(app=app, base_url=base_url, run=run, database=database_name(database_url))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make system-packages)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def signed_in_page(
    browser: Browser,
    base_url: str,
    database: str,
    username: str,
    viewport: dict | None = None,
    locale: str = "zh-CN",
    password: str = DEMO_PASSWORD,
) -> Page:
    """A page of a fresh browser context (close it with `page.context.close()`), signed in as the demo
    user (or with another password). `page.js_errors` collects uncaught errors, `page.console_errors`
    what the console reports as an error after the sign-in (a refused inline style, a failed request)."""
    context = browser.new_context(viewport=viewport or OFFICE_SCREEN, locale=locale)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    # what the page did last, printed when a test fails (a click that submitted nothing shows as no request)
    trail: deque[str] = deque(maxlen=40)

    def requested(r) -> None:
        if "/static/" not in r.url:
            trail.append(f"request {r.method} {r.url}")

    def answered(r) -> None:
        if "/static/" not in r.url or r.status >= 400:
            trail.append(f"response {r.status} {r.request.method} {r.url}")

    page.on("request", requested)
    page.on("response", answered)
    page.on("console", lambda message: trail.append(f"console {message.type}: {message.text[:300]}"))
    page.on("pageerror", lambda exc: trail.append(f"page error: {exc}"))
    page.trail = trail  # type: ignore[attr-defined]
    page.js_errors = errors  # type: ignore[attr-defined]
    page.console_errors = console  # type: ignore[attr-defined]
    page.database = database  # type: ignore[attr-defined]
    page.goto(base_url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    console.clear()
    return page


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Each phase's report on the item (`item.report_call`), for the fixtures' teardown to read."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def record_failure(page: Page, name: str) -> None:
    """A failed test's page: a screenshot, and its URL and trail printed (pytest shows them with the failure)."""
    try:
        path = screenshot(page, f"FAILED-{name}")
        print(f"-- {page.url} (screenshot {path})")
    except PlaywrightError as error:  # a page that crashed or closed still prints its trail
        print(f"-- {page.url} (no screenshot: {error})")
    for line in page.trail:  # type: ignore[attr-defined]
        print("   " + line)


@pytest.fixture
def sign_in(world: World, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """sign_in("shenyang") → a page of a fresh browser context, signed in as that demo user."""
    pages: list[Page] = []

    def open_as(username: str, viewport: dict | None = None, locale: str = "zh-CN") -> Page:
        pages.append(signed_in_page(browser, world.base_url, world.database, username, viewport, locale))
        return pages[-1]

    yield open_as
    report = getattr(request.node, "report_call", None)
    for number, page in enumerate(pages, start=1):
        if report is not None and report.failed:
            record_failure(page, f"{request.node.name}-{number}")
        page.context.close()


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    folder = SCREENSHOT_DIR / page.database  # type: ignore[attr-defined]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
