"""What a reader sees of a page, and the English in it: the crawl of `test_chinese_pages.py` uses these.

A page's visible text is its text outside <script>, <style>, <template> and code, plus the strings of
its JSON blocks and data-* attributes (what our scripts show: chart labels, diagram names,
confirmations), and the attributes a person reads or hears (`title`, `placeholder`, `aria-label`,
`alt`, an input button's `value`). English is a run of two or more words of Latin letters ("New
task", "This field is required"), a whole text that is one of our one-word English msgids or any
capitalised word ("Submit"), and in a read attribute any one word ("breadcrumb"); less the names of
products and formats people use as they are (`ALLOWED_WORDS`), addresses, file names and codes.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

# Names read as they are in Chinese pages too: products, formats, protocols, units.
ALLOWED_WORDS = {
    "API",
    "BPMN",
    "Excel",
    "PDF",
    "English",  # the language switch names each language in itself
}

HIDDEN_TAGS = {"script", "style", "template", "noscript", "code", "kbd", "pre", "samp"}
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
VOID_TAGS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}

WORDS = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
# Latin words joined only by spaces or sentence punctuation: a phrase, not a code or a path.
RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,;:]+[A-Za-z][A-Za-z'’-]*)+")
# Things that are not prose even when they contain letters: addresses, files, e-mail, codes.
NOT_PROSE = re.compile(
    r"https?://\S+|/[\w./?=&%-]+|[\w.+-]+@[\w.-]+|[\w.-]+\.(?:xlsx|pdf|bpmn|zip|json|csv)\b|\b[A-Za-z]+\d[\w-]*",
)


class VisibleText(HTMLParser):
    """Collects (where, text) pairs a person reads: text nodes and read attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.stack: list[str] = []
        self.texts: list[tuple[str, str]] = []
        self.json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.texts.append((f"<{tag} {name}>", value))
            elif name.startswith("data-") and value and not value.lstrip().startswith(("{", "[")):
                self.texts.append((f"<{tag}:{name}>", value))  # texts scripts show; one word there is a code
        if tag == "input" and values.get("type") in ("submit", "button", "reset") and values.get("value"):
            self.texts.append((f"<{tag} value>", values["value"] or ""))
        if tag in VOID_TAGS:
            return
        self.json = tag == "script" and values.get("type") == "application/json"
        self.stack.append(tag)
        if tag in HIDDEN_TAGS:
            self.hidden += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS or tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            if top in HIDDEN_TAGS:
                self.hidden -= 1
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.json and self.stack and self.stack[-1] == "script":  # what our scripts show: labels, titles
            texts = [text for text in strings_of(json.loads(data)) if not text.lstrip().startswith("<")]
            self.texts.extend(("<script-json>", text) for text in texts)  # less markup: a diagram's XML
            return
        if not self.hidden and data.strip():
            self.texts.append((f"<{self.stack[-1] if self.stack else ''}>", data.strip()))


def strings_of(value: object) -> list[str]:
    """The string values in decoded JSON (not its keys)."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_of(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_of(v)]
    return []


def visible_texts(html: str) -> list[tuple[str, str]]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.texts


def english_in(
    text: str,
    single_words: frozenset[str] = frozenset(),
    allowed: set[str] | None = None,
    label: bool = False,
) -> list[str]:
    """The English phrases of one text: runs of two or more Latin words not on the allow-list, or the
    whole text when it is one of `single_words` (our one-word English msgids) or a capitalised word,
    and in a label (an attribute a person reads or hears) any one English word."""
    allowed = ALLOWED_WORDS if allowed is None else allowed
    if text not in allowed and (
        text in single_words
        or re.fullmatch(r"[A-Z][a-z]{2,}", text)
        or (label and re.fullmatch(r"[A-Za-z][a-z]{2,}", text))
    ):
        return [text]
    found = []
    for match in RUN.finditer(NOT_PROSE.sub(" ", text)):
        words = [w for w in WORDS.findall(match.group()) if w not in allowed]
        if len(words) >= 2:
            found.append(match.group())
    return found


def english_on_page(
    html: str, single_words: frozenset[str] = frozenset(), allowed: set[str] | None = None
) -> list[str]:
    return [
        f"{where} {phrase!r} in {text[:120]!r}"
        for where, text in visible_texts(html)
        for phrase in english_in(text, single_words, allowed, label=" " in where)
    ]
