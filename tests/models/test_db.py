"""The per-transaction memo: a request's check and its verb read reference rows once, and the next
transaction reads them afresh."""

from __future__ import annotations

from sqlalchemy import select

from models.db import db, once_per_transaction
from models.org import OrgKind, OrgUnit


def _cities() -> list[str]:
    return list(db.session.scalars(select(OrgUnit.code).where(OrgUnit.kind == OrgKind.CITY)))


def test_read_once_per_transaction_and_afresh_after_commit_and_rollback(ctx):
    reads = []

    def read():
        reads.append(1)
        return _cities()

    first = once_per_transaction(("cities",), read)
    assert once_per_transaction(("cities",), read) is first and len(reads) == 1
    assert once_per_transaction(("other",), read) == first and len(reads) == 2  # keys are separate

    db.session.add(OrgUnit(code="newcity", name="新市", short_name="新市", kind=OrgKind.CITY, sort_order=99))
    db.session.commit()
    after_commit = once_per_transaction(("cities",), read)
    assert len(reads) == 3 and "newcity" in after_commit and "newcity" not in first

    db.session.add(OrgUnit(code="gone", name="无", short_name="无", kind=OrgKind.CITY, sort_order=98))
    assert "gone" in once_per_transaction(("cities", "mid"), read)
    db.session.rollback()
    assert "gone" not in once_per_transaction(("cities", "mid"), read) and len(reads) == 5
