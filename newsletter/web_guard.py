"""What every request and answer of the web app passes through: input hygiene, security headers, and an
access log that never holds a reader's token (uvicorn's own access log is off: it logs every path as is)."""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import unquote

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
TOKEN_ROUTES = ("confirm", "preferences", "unsubscribe", "feedback")
_TOKEN_PATH = re.compile(rf"^/({'|'.join(TOKEN_ROUTES)})/[^/?#]*")


def mask_tokens(path: str) -> str:
    """'/preferences/<token>?done=saved' for '/preferences/eyJ…?done=saved'."""
    return _TOKEN_PATH.sub(r"/\1/<token>", path)


def _has_nul(text: str) -> bool:
    return "\x00" in text or "%00" in text


class Guard:
    """ASGI middleware: a NUL byte in the path or query is a 400 before any handler sees it (no database
    takes one); every answer gets the security headers (and no-referrer on token pages); one access-log
    line per request with tokens masked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        on_token_page = _TOKEN_PATH.match(path) is not None
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
            shown = mask_tokens(path) + (f"?{query}" if query else "")
            log.info(
                '%s - "%s %s HTTP/%s" %d %.0fms',
                client[0],
                scope["method"],
                shown,
                scope.get("http_version", "1.1"),
                status,
                (time.perf_counter() - started) * 1000,
            )
