"""Behind reverse proxies (JIXIAO_PROXIES): the client's address is the one they forwarded, so the
login slow-down and the session list see each user, not the proxy; with none configured the
forwarded headers are ignored, as a client could forge them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.db import db
from models.org import User, UserSession
from tests.conftest import DEMO_PASSWORD
from webapp.config import ConfigError, proxies

PROXY, CLIENT = "10.0.0.1", "203.0.113.7"


def _signed_in_address(app) -> str | None:
    client = app.test_client()
    response = client.post(
        "/login",
        data={"username": "office", "password": DEMO_PASSWORD},
        environ_base={"REMOTE_ADDR": PROXY},
        headers={"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 302
    with app.app_context():
        office = db.session.scalar(select(User).where(User.username == "office"))
        return db.session.scalar(
            select(UserSession.address)
            .where(UserSession.user_id == office.id)
            .order_by(UserSession.id.desc())
        )


def test_without_proxies_the_forwarded_address_is_ignored(app, demo):
    assert app.config["PROXIES"] == 0
    assert _signed_in_address(app) == PROXY


def test_behind_one_proxy_the_forwarded_address_is_the_clients(app_factory, demo):
    app = app_factory(PROXIES=1)
    assert _signed_in_address(app) == CLIENT


@pytest.mark.parametrize("value", ["x", -1, 6, True, "1.5"])
def test_a_proxy_count_that_is_not_a_small_whole_number_is_refused_with_a_sentence(value):
    with pytest.raises(ConfigError, match="JIXIAO_PROXIES must be the number of reverse proxies"):
        proxies({"PROXIES": value})


def test_a_proxy_count_from_the_environment_is_read_as_a_number():
    config = {"PROXIES": "2"}
    proxies(config)
    assert config["PROXIES"] == 2
