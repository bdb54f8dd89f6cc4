"""A simulated year once per test session: later tests get the same database rows back in a second
instead of simulating again for half a minute or more.

`simulate_once(2012, 5, stop_at="round.score")` is called inside an app context; it replaces every
row. The first call of a session must find just the demo data (what the `demo` or `login` fixtures
load): that state is kept as the starting point of every later simulation.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select, text

from models.db import db
from webapp.simulation import simulate

# (database URL, year, seed, stop_at, scheme) → (summary, {table name: rows})
_SNAPSHOTS: dict[tuple, tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]] = {}
# database URL → the rows before any simulation (the demo data)
_BASE: dict[str, dict[str, list[dict[str, Any]]]] = {}


def _rows() -> dict[str, list[dict[str, Any]]]:
    # by id: a row that refers to another of its table (an instance to its parent) comes after it
    return {
        table.name: [
            dict(row._mapping)
            for row in db.session.execute(table.select().order_by(*([table.c.id] if "id" in table.c else [])))
        ]
        for table in db.metadata.sorted_tables
    }


def _restore(rows: dict[str, list[dict[str, Any]]]) -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    for table in db.metadata.sorted_tables:
        if rows[table.name]:
            db.session.execute(table.insert(), copy.deepcopy(rows[table.name]))
    if db.session.get_bind().dialect.name == "postgresql":
        # explicit ids do not move the sequences: set them past the restored rows
        for table in db.metadata.sorted_tables:
            if "id" in table.c and rows[table.name]:
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
