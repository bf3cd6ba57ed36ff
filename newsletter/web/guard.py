"""What every request and answer of the web app passes through.

Input hygiene, security headers, and an access log that never holds a reader's token (uvicorn's own access log is
off: it logs every path as is)."""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qsl, unquote

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter.tokens import PURPOSES

log = logging.getLogger("newsletter.web.access")

# No inline script or style anywhere: the stylesheet and the one script are files the app serves.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),  # frame-ancestors for browsers that predate it
)
# Pages reached by a token: the token is in their URL, so no request from them may carry it elsewhere.
TOKEN_ROUTES = PURPOSES  # each purpose's page is /<purpose>/<token> (links.reader_path)
# A signed token (itsdangerous: base64url parts joined by dots) wherever it shows up in a logged address.
_TOKEN_LIKE = re.compile(r"\.?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")
_TOKEN_MIN_LENGTH = 20
_SLASHES = re.compile(r"/{2,}")
_MAX_QUERY_NAMES = 10


def _token_route(path: str) -> bool:
    """Whether the path starts with a token route's prefix, in any case and with slashes doubled (the
    router answers those 404, but the address may still hold a real token)."""
    first = _SLASHES.sub("/", path).lstrip("/").split("/", 1)[0]
    return first.lower() in TOKEN_ROUTES


def mask_tokens(path: str) -> str:
    """'/preferences/<token>' for '/preferences/eyJ…' and its '//Preferences/eyJ…' variants: every segment
    after a token route's prefix is hidden ('<token>', then '<…>'), and so is anything that looks like a
    signed token anywhere else."""
    if _token_route(path):
        prefix, *rest = _SLASHES.sub("/", path).lstrip("/").split("/")
        hidden = [("<token>" if i == 0 else "<…>") if segment else "" for i, segment in enumerate(rest)]
        path = "/".join(["", prefix, *hidden])
    return _mask_token_like(path)


def query_names(query: str) -> str:
    """The parameter names of a query string only: a value may be a token, a search or an address."""
    names = list(dict.fromkeys(name for name, _ in parse_qsl(query, keep_blank_values=True)))
    shown = "&".join(names[:_MAX_QUERY_NAMES]) + ("&…" if len(names) > _MAX_QUERY_NAMES else "")
    return _mask_token_like(shown)


def _mask_token_like(text: str) -> str:
    return _TOKEN_LIKE.sub(lambda m: "<token>" if len(m[0]) >= _TOKEN_MIN_LENGTH else m[0], text)


def printable(text: str) -> str:
    """The text with every control or other non-printable character, the backslash and the double quote
    as \\xNN (\\uNNNN beyond Latin-1), so a request can neither start a log line of its own nor break the
    quoted field it is logged in."""
    return "".join(char if char.isprintable() and char not in '\\"' else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _has_nul(text: str) -> bool:
    return "\x00" in text or "%00" in text


class Guard:
    """ASGI middleware: a NUL byte in the path or query is a 400 before any handler sees it (no database
    takes one); every answer gets the security headers (and no-referrer on token pages); one access-log
    line per request with tokens masked, no query values, and nothing unprintable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        on_token_page = _token_route(path)
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    headers[name] = value
                headers["referrer-policy"] = "no-referrer" if on_token_page else "strict-origin-when-cross-origin"
            await send(message)

        try:
            if _has_nul(path) or _has_nul(unquote(query)):
                response = PlainTextResponse("Bad request: a NUL byte in the address.", status_code=400)
                await response(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            client = scope.get("client") or ("-", 0)
            names = query_names(query)
            shown = printable(mask_tokens(path) + (f"?{names}" if names else ""))
            log.info(
                '%s - "%s %s HTTP/%s" %d %.0fms',
                client[0],
                printable(scope["method"]),
                shown,
                scope.get("http_version", "1.1"),
                status,
                (time.perf_counter() - started) * 1000,
            )
