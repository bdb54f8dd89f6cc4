"""The SQLAlchemy handle every model and service shares, importable without the web layer."""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, Text, event
from sqlalchemy.engine import CursorResult, Dialect, Engine, Result
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

# Named constraints keep Alembic migrations portable between SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:  # what `db.Model` is at run time (a subclass of Base), spelled so mypy can follow it

    class Model(Base):
        __abstract__ = True

else:
    Model = db.Model


M = TypeVar("M")
R = TypeVar("R")


def load(model: type[M], ident: Any) -> M:
    """The row with this primary key, which must exist: an id the system wrote itself (a task's
    instance, a round's year). A missing one is a bug, not bad input, so it raises LookupError."""
    row = db.session.get(model, ident)
    if row is None:
        raise LookupError(f"no {model.__name__} {ident!r}")
    return row


def once_per_transaction(key: tuple[Any, ...], read: Callable[[], R]) -> R:
    """`read()` the first time `key` is asked for in this transaction, the same value afterwards.

    For reference rows a request reads twice, in a form's check and again in the verb it calls
    (the cities, a department's indicators of a year): rows nothing in that transaction changes. The
    values are forgotten when the transaction commits or rolls back, so the next one reads afresh."""
    memo = db.session.info.setdefault(_MEMO, {})
    if key not in memo:
        memo[key] = read()
    return cast("R", memo[key])


_MEMO = "jixiao.once_per_transaction"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_MEMO, None)


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return cast("CursorResult[Any]", result).rowcount or 0


class UTCDateTime(TypeDecorator):
    """Store naive UTC, hand back timezone-aware UTC on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class JSONText(TypeDecorator):
    """JSON kept as text, the same on SQLite and PostgreSQL (and its size is what it looks like)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


def enum_column(cls: type[enum.Enum], name: str, length: int = 16) -> Enum:
    """An enum stored as its values in a VARCHAR with a CHECK constraint (portable; no native enum types)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    # SQLite leaves foreign keys off and uses a rollback journal unless asked on every connection.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
