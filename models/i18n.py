"""Translation markers for the domain layer (resolved lazily, in the request's locale)."""

from flask_babel import gettext, lazy_gettext, ngettext

__all__ = ["gettext", "lazy_gettext", "ngettext"]
