"""Files sent as downloads, every one named the same way (RFC 6266): `filename*=UTF-8''…` carries the
real name, percent-encoded, and `filename="…"` an ASCII stand-in for clients that read only that."""

from __future__ import annotations

import os
import re
import unicodedata
from io import BytesIO
from pathlib import Path
from typing import IO
from urllib.parse import quote

from flask import Response, send_file

# RFC 5987 attr-char: what may stand unencoded in filename*
ATTR_CHARS = "!#$&+-.^_`|~"
# what the ASCII stand-in keeps: printable ASCII but the quoted-string's own `"` and `\`, and `%`,
# which some browsers decode in filename=
_NOT_PLAIN = re.compile(r'[^\x20-\x7e]+|["\\%]')
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def ascii_name(filename: str) -> str:
    """The name in plain ASCII: accents dropped (é → e), other letters as `_`, `download` when
    nothing of the stem is left ("用户导入模板.xlsx" → "download.xlsx")."""
    stem, ext = os.path.splitext(_UNSAFE.sub("", filename))
    plain_ext = _NOT_PLAIN.sub("_", ext)
    decomposed = unicodedata.normalize("NFKD", stem)
    stem = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = _NOT_PLAIN.sub("_", stem).strip()
    if not plain.strip("_ "):
        plain = "download"
    return plain + plain_ext


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """`attachment; filename="…"; filename*=UTF-8''…` for any name (control characters dropped)."""
    name = _UNSAFE.sub("", filename) or "download"
    return f"{disposition}; filename=\"{ascii_name(name)}\"; filename*=UTF-8''{quote(name, safe=ATTR_CHARS)}"


def send_attachment(source: bytes | Path | IO[bytes], mimetype: str, filename: str) -> Response:
    """The bytes (or the file) as a download named `filename`."""
    body = BytesIO(source) if isinstance(source, bytes) else source
    response = send_file(body, mimetype=mimetype, as_attachment=True, download_name=ascii_name(filename))
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response
