"""A simulated year once per test session: later tests get the same database rows back in a second
instead of simulating again for half a minute or more.

`simulate_once(2012, 5, stop_at="round.score")` is called inside an app context; it replaces every
row. The first call of a session must find just the demo data (what the `demo` or `login` fixtures
load): that state is kept as the starting point of every later simulation.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, text

from models.db import db
from webapp.simulation import simulate

# (database URL, year, seed, stop_at, scheme) → (summary, {table name: rows})
_SNAPSHOTS: dict[tuple, tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]] = {}
# database URL → the rows before any simulation (the demo data)
_BASE: dict[str, dict[str, list[dict[str, Any]]]] = {}


# Who is signed in now, not what the year holds: a snapshot does not keep these rows, and restoring one
# puts back the ones there were, so a client signed in before `simulate_once` stays signed in after it.
# Their users are found again by name: every snapshot holds the demo's users, though not always under
# the same ids (PostgreSQL's sequences go on where SQLite reuses ids).
_LIVE = {"user_session", "api_token", "login_attempt"}


def _tables() -> list:
    return [table for table in db.metadata.sorted_tables if table.name not in _LIVE]


def _rows() -> dict[str, list[dict[str, Any]]]:
    # by id: a row that refers to another of its table (an instance to its parent) comes after it
    return {
        table.name: [
            dict(row._mapping)
            for row in db.session.execute(table.select().order_by(*([table.c.id] if "id" in table.c else [])))
        ]
        for table in _tables()
    }


def _live_rows(restored: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The rows of the live tables now, their users' ids those the same names have in `restored`."""
    users = db.metadata.tables["user_account"]
    name_of = dict(db.session.execute(select(users.c.id, users.c.username)).all())
    id_of = {row["username"]: row["id"] for row in restored["user_account"]}
    live: dict[str, list[dict[str, Any]]] = {}
    for table in db.metadata.sorted_tables:
        if table.name not in _LIVE:
            continue
        live[table.name] = []
        for row in map(dict, (r._mapping for r in db.session.execute(table.select()))):
            if "user_id" in row:
                if name_of.get(row["user_id"]) not in id_of:
                    continue  # a user the snapshot does not have
                row["user_id"] = id_of[name_of[row["user_id"]]]
            live[table.name].append(row)
    return live


def _restore(rows: dict[str, list[dict[str, Any]]], *, empty_first: bool = True) -> None:
    if empty_first:
        rows = {**rows, **_live_rows(rows)}
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    for table in db.metadata.sorted_tables:
        if rows.get(table.name):
            db.session.execute(table.insert(), copy.deepcopy(rows[table.name]))
    if db.session.get_bind().dialect.name == "postgresql":
        # explicit ids do not move the sequences: set them past the restored rows
        for table in db.metadata.sorted_tables:
            if "id" in table.c and rows.get(table.name):
                top = db.session.scalar(select(func.max(table.c.id)))
                db.session.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v)"), {"t": table.name, "v": top}
                )
    db.session.commit()


def simulate_once(
    year: int, seed: int, stop_at: str | None = None, scheme: str = "ln-cities"
) -> dict[str, Any]:
    """What `webapp.simulation.simulate` returns, and the database it leaves, simulated once per session."""
    url = db.engine.url.render_as_string(hide_password=False)
    key = (url, year, seed, stop_at, scheme)
    if key in _SNAPSHOTS:
        summary, rows = _SNAPSHOTS[key]
        _restore(rows)
        return copy.deepcopy(summary)
    if url in _BASE:
        _restore(_BASE[url])
    else:
        _BASE[url] = _rows()
    summary = simulate(year, seed, scheme, stop_at=stop_at)
    db.session.commit()
    _SNAPSHOTS[key] = (copy.deepcopy(summary), _rows())
    return summary


# database URL → (the demo users' names, the rows `load_demo` leaves)
_DEMO: dict[str, tuple[list[str], dict[str, list[dict[str, Any]]]]] = {}


def load_demo_once(load: Callable[[], list[str]]) -> list[str]:
    """What `load()` (loading the demo data into empty tables) returns, loaded once per session.

    Later calls insert the same rows again (a few milliseconds instead of a fifth of a second)."""
    url = db.engine.url.render_as_string(hide_password=False)
    if url in _DEMO:
        usernames, rows = _DEMO[url]
        _restore(rows, empty_first=False)
        return list(usernames)
    usernames = load()
    db.session.commit()
    _DEMO[url] = (list(usernames), _rows())
    return usernames
