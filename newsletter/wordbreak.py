"""Break opportunities (`<wbr>`) put into the HTML text of long words and URLs; called by the email templates.

Gmail, Outlook, Yahoo and Apple Mail ignore `overflow-wrap` and `word-break` (caniemail), so a long unbreakable
title would widen the whole mail on a phone; a `<wbr>` in the text is honoured everywhere and shows nothing
unless the line has to break there.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from markupsafe import Markup, escape

LONG = 30  # characters in a token without spaces that get break opportunities
SPAN = 16  # at most this many characters between two opportunities (about 280 px of bold 18 px text)
AFTER = frozenset("/-_.?&=#:;,+~|@")  # a break after these reads naturally in URLs and compounds
WBR = "<wbr>"

# Tags and whitespace end a token's count where the text allows a break anyway; an entity is one character.
_PIECES = re.compile(r"(<[^>]*>)|(\s+)|(&(?:#\d+|#[xX][0-9a-fA-F]+|\w+);)|(.)", re.S)


def breakable(value: object) -> Markup:
    """`value` escaped (or, if it is Markup already, as it is) with a `<wbr>` in every token over LONG
    characters: after URL punctuation, and at least every SPAN characters; never inside a tag or an entity,
    nor before a combining mark."""
    return Markup(_breakable(str(escape(value))))


@lru_cache(maxsize=65536)  # titles, authors and snippets recur for every reader of an issue
def _breakable(html: str) -> str:
    if not _has_long_token(html):
        return html
    out: list[str] = []
    token: list[str] = []  # the current token: characters, entities, and the inline tags inside it

    def flush() -> None:
        out.extend(_with_breaks(token) if sum(not p.startswith("<") for p in token) > LONG else token)
        token.clear()

    for tag, space, entity, char in _PIECES.findall(html):
        if space or _BREAKING_TAG.match(tag):
            flush()
            out.append(space or tag)
        elif tag:
            # An inline tag (a highlight) may sit inside a word: the token goes on across it.
            (token if token else out).append(tag)
        else:
            token.append(entity or char)
    flush()
    return "".join(out)


_BREAKING_TAG = re.compile(r"<(?:wbr|br)\b", re.I)
_TAG = re.compile(r"<[^>]*>")


def _has_long_token(html: str) -> bool:
    """A cheap first look: most text has no run of LONG non-space characters."""
    text = _TAG.sub("", html) if "<" in html else html
    return any(len(run) > LONG for run in text.split())


def _with_breaks(token: list[str]) -> list[str]:
    chars = [i for i, piece in enumerate(token) if not piece.startswith("<")]
    following = dict(zip(chars, [*[token[j] for j in chars[1:]], None], strict=True))
    out: list[str] = []
    run = 0  # characters since the last break opportunity
    for i, piece in enumerate(token):
        out.append(piece)
        if i not in following:
            continue  # a tag
        run += 1
        after = following[i]
        if after is None or _combining(after):
            continue
        natural = (piece in AFTER or piece == "&amp;") and after != "/"  # never between the slashes of "//"
        if (natural and run >= 3) or run >= SPAN:
            out.append(WBR)
            run = 0
    return out


def _combining(piece: str) -> bool:
    return len(piece) == 1 and unicodedata.combining(piece) != 0
