"""Break opportunities (zero-width spaces) in the HTML text of long words and URLs.

Used by the email templates, and by `linked`, which makes the web addresses in a paper's text into links.

Gmail, Outlook, Yahoo and Apple Mail ignore `overflow-wrap` and `word-break` (caniemail), so a long unbreakable
title would widen the whole mail on a phone. The break goes into the text itself: a zero-width space, which
every client lays out as a place to break and shows as nothing. Not `<wbr>`: Gmail on iOS, Gmail accounts on
Android and Outlook for Windows drop it (caniemail's html-wbr). Links' addresses and the text part are
left as they are.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from markupsafe import Markup, escape

LONG = 30  # characters in a token without spaces that get break opportunities
SPAN = 16  # at most this many characters between two opportunities (about 280 px of bold 18 px text)
AFTER = frozenset("/-_.?&=#:;,+~|@")  # a break after these reads naturally in URLs and compounds
BREAK = "&#8203;"  # U+200B ZERO WIDTH SPACE, as an entity so the HTML source shows it

_LONG_RUN = re.compile(rf"(?<!\S)\S{{{LONG + 1},}}")  # an entity counts as several: found, then measured
_SPLIT = re.compile(r"(<[^>]*>|\s+)")  # text, then a tag or a space, text, ...
_BREAKING_TAG = re.compile(r"<(?:wbr|br)\b", re.I)
_PIECES = re.compile(r"(<[^>]*>)|(&(?:#\d+|#[xX][0-9a-fA-F]+|\w+);)|(.)", re.S)  # an entity is one character
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|\w+);")
_TAG = re.compile(r"<[^>]*>")
_BREAKS = {BREAK, "&#x200b;", "\u200b"}  # already there: the count starts again


def breakable(value: object) -> Markup:
    """`value` escaped (or, if it is Markup already, as it is) with a break opportunity in every token over LONG
    characters: after URL punctuation, and at least every SPAN characters; never inside a tag or an entity,
    nor before a combining mark."""
    return Markup(_breakable(str(escape(value))))


@lru_cache(maxsize=65536)  # titles, authors and snippets recur for every reader of an issue
def _breakable(html: str) -> str:
    if max(map(len, (_TAG.sub("", html) if "<" in html else html).split()), default=0) <= LONG:
        return html  # most text: the quick look (split is fast) finds no long token
    if "<" not in html:  # escaped text: the usual case
        return _LONG_RUN.sub(_token_with_breaks, html)
    # Markup with tags: an inline tag (a highlight) may sit inside a word, which goes on across it.
    out: list[str] = []
    token: list[str] = []

    def flush() -> None:
        joined = "".join(token)
        out.append(_with_breaks(joined) if _visible_length(joined) > LONG else joined)
        token.clear()

    for i, part in enumerate(_SPLIT.split(html)):
        if i % 2 and (not part.startswith("<") or _BREAKING_TAG.match(part)):
            flush()
            out.append(part)
        elif part:
            token.append(part)
    flush()
    return "".join(out)


def _token_with_breaks(found: re.Match[str]) -> str:
    token = found.group(0)
    return _with_breaks(token) if _visible_length(token) > LONG else token


def _visible_length(token: str) -> int:
    return len(_ENTITY.sub("&", _TAG.sub("", token)))


def _with_breaks(token: str) -> str:
    pieces = [tag or entity or char for tag, entity, char in _PIECES.findall(token)]
    chars = [i for i, piece in enumerate(pieces) if not piece.startswith("<")]
    following = dict(zip(chars, [*[pieces[j] for j in chars[1:]], None], strict=True))
    out: list[str] = []
    run = 0  # characters since the last break opportunity
    for i, piece in enumerate(pieces):
        out.append(piece)
        if i not in following:
            continue  # a tag
        if piece.lower() in _BREAKS:
            run = 0
            continue
        run += 1
        after = following[i]
        if after is None or _combining(after) or after.lower() in _BREAKS:
            continue
        natural = (piece in AFTER or piece == "&amp;") and after != "/"  # never between the slashes of "//"
        if (natural and run >= 3) or run >= SPAN:
            out.append(BREAK)
            run = 0
    return "".join(out)


def _combining(piece: str) -> bool:
    return len(piece) == 1 and unicodedata.combining(piece) != 0


_URL = re.compile(r"https?://[^\s<>\"'…]+", re.IGNORECASE)
_URL_END = ".,;:!?'\""  # punctuation after an address belongs to the sentence


def _unbalanced(url: str) -> bool:
    """Whether the address ends with a closing bracket it never opened (the sentence's, not the address's)."""
    closing = url[-1]
    opening = {")": "(", "]": "[", "}": "{"}.get(closing)
    return opening is not None and url.count(opening) < url.count(closing)


def linked(value: str, breaks: bool = True) -> Markup:
    """Text with its web addresses made into links, escaped, and (`breaks`) breakable like the rest: a reader
    follows the address as written, never one holding the break opportunities of its text (a copied zero-width
    space made a link to another path)."""
    show = breakable if breaks else escape
    out: list[Markup] = []
    last = 0
    for found in _URL.finditer(value):
        url = found.group(0).split("](")[0]  # Markdown's "[https://x.org](https://x.org)": the first
        while url and (url[-1] in _URL_END or _unbalanced(url)):  # "(see https://x.org/y)", "…?id=3]."
            url = url[:-1]
        out += [show(value[last : found.start()]), Markup('<a href="{}">{}</a>').format(url, show(url))]
        last = found.start() + len(url)
    out.append(show(value[last:]))
    return Markup("").join(out)
