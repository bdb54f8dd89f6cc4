"""E-mail through SMTP when MAIL_SERVER is configured, sent only after the transaction commits.

`queue()` keeps messages on the database session; they go out once the session commits (a rolled
back task sends nothing), and a failed send is logged, never raised: mail is a courtesy copy of the
in-app notification, not part of the task.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, has_app_context
from flask_babel import force_locale
from sqlalchemy import event
from sqlalchemy.orm import Session

from models.db import db
from models.i18n import gettext

log = logging.getLogger(__name__)
OUTBOX = "jixiao_outbox"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def configured() -> bool:
    return has_app_context() and bool(current_app.config.get("MAIL_SERVER"))


def queue(to: str, subject: str, body: str) -> bool:
    """Send after the current transaction commits; False (nothing queued) without SMTP or address."""
    if not to or not configured():
        return False
    db.session.info.setdefault(OUTBOX, []).append(Mail(to, subject, body))
    return True


def queue_copy(recipients: list[str], text: Callable[[], str], link: str | None) -> list[bool]:
    """An e-mail copy of a notification for each address, in the site's default language, with the
    link made absolute by MAIL_BASE_URL; whether each was queued."""
    if not configured():
        return [False] * len(recipients)
    base = (current_app.config.get("MAIL_BASE_URL") or "").rstrip("/")
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        message = text()
        subject = gettext("[Jixiao] %(text)s", text=message)[:200]
    body = "\n\n".join(part for part in (message, base + link if link else "") if part)
    return [queue(to, subject, body) for to in recipients]


def _message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, mail.to, mail.subject
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="jixiao")
    message.set_content(mail.body)
    return message


def send(mails: list[Mail]) -> int:
    """Deliver over one SMTP connection; returns how many went out (errors are logged, not raised)."""
    if not mails or not configured():
        return 0
    cfg = current_app.config
    sender = cfg.get("MAIL_FROM") or cfg.get("MAIL_USERNAME") or "jixiao@localhost"
    sent = 0
    try:
        with smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT") or 25), timeout=10) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
            for mail in mails:
                try:
                    smtp.send_message(_message(mail, sender))
                    sent += 1
                except smtplib.SMTPException:
                    log.exception("mail to %s failed", mail.to)
    except (OSError, smtplib.SMTPException):
        log.exception(
            "SMTP server %s unavailable: %d mail(s) not sent", cfg["MAIL_SERVER"], len(mails) - sent
        )
    return sent


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    mails = session.info.pop(OUTBOX, None)
    if mails:
        send(mails)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(OUTBOX, None)
