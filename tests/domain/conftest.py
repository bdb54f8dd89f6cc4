"""The domain's verbs are called as a view, a command or another verb would: inside an application
context, on the demo organisation and its 2012 draft system, with no process running."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.db import db
from models.scheme import SchemeYear


@pytest.fixture
def year(ctx, demo) -> SchemeYear:
    return db.session.scalar(select(SchemeYear).where(SchemeYear.year == 2012))
