"""Translation markers for the domain layer (resolved lazily, in the request's locale)."""

from __future__ import annotations

from flask_babel import get_translations, gettext, lazy_gettext, ngettext


class FormTranslations:
    """WTForms' own messages ("This field is required.", "Number must be between …") through our
    catalogue, in the request's locale (English outside one). Forms take it from their
    `Meta.get_translations`; `models/wtforms_messages.py` marks the messages for the catalogue."""

    def gettext(self, string: str) -> str:
        return str(get_translations().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        # not flask_babel.ngettext: it would format with {"num": n}, and WTForms formats itself
        return str(get_translations().ungettext(singular, plural, n))


form_translations = FormTranslations()

__all__ = ["form_translations", "gettext", "lazy_gettext", "ngettext"]
