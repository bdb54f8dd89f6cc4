"""What the system tells each user: a task arrived or was returned, a deadline nears, results were
published, a reminder came (see `webapp/domain/notifications.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.db import JSONText, Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from models.org import User


class Notification(Model):
    """A message to one user: a task arrived or was returned, a deadline nears, results were published.

    With `params` set, `text` is an English msgid rendered in the reader's language when shown;
    without, `text` is shown as stored. `key` makes a notification once-only per user (e.g. one
    deadline warning per task), held by a unique constraint so concurrent workers cannot double it.
    """

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_id_read_at", "user_id", "read_at"),
        UniqueConstraint("key", "user_id"),  # key first: the deadline check looks keys up
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    params: Mapped[dict | None] = mapped_column(JSONText)
    key: Mapped[str | None] = mapped_column(String(120))
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def can_view(self, user: User) -> bool:
        """Only the addressee sees or marks a notification."""
        return user.is_authenticated and self.user_id == user.id

    @property
    def unread(self) -> bool:
        return self.read_at is None
