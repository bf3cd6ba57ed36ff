"""What every page shares: the stores, the token signer, the templates, and the page, form and token helpers."""

from __future__ import annotations

import functools
import secrets
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from newsletter.message import Composer
from newsletter.models import Subscriber
from newsletter.pipeline import Context
from newsletter.tokens import Claim, Tokens
from newsletter.web.forms import timezones
from newsletter.wordbreak import linked

CSRF_COOKIE = "newsletter_csrf"
# A form is typed by a person: a few dozen fields of a few KB (Starlette enforces both while parsing).
FORM_LIMITS = {"max_files": 0, "max_fields": 50, "max_part_size": 64 * 1024}


class Refused(Exception):
    """A posted form that cannot be used (expired CSRF token, a NUL byte): answered with `response`, unless
    the page catches it to show its form again with what was typed (`values`) and why (`problem`)."""

    def __init__(self, response: Response, problem: str = "", values: dict[str, str] | None = None) -> None:
        self.response = response
        self.problem = problem
        self.values = values or {}


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return exc.response


async def no_such_page(request: Request, exc: Exception) -> Response:
    """An address the site does not have: a page of the site (it was Starlette's bare "Not Found")."""
    return site(request).message("Page not found", "There is no page at this address.", 404)


class Site:
    """The app's shared state, kept on `app.state.site`; the handlers of each page reach it by `site(request)`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.settings = settings = ctx.settings
        self.tokens = Tokens(settings.web.secret_key)
        self.env = Environment(
            loader=FileSystemLoader(Path(settings.paths.templates)), autoescape=select_autoescape(["html", "j2"])
        )
        # A browser breaks long words itself (overflow-wrap), and a copied address stays whole.
        self.env.filters["linked"] = functools.partial(linked, breaks=False)
        self.secure_cookie = settings.web.base_url.startswith("https://")

    @functools.cached_property
    def composer(self) -> Composer:
        """Made at the first sign-up mail, then kept: the app starts without loading the email templates."""
        return Composer(self.settings)

    def page(
        self, name: str, status: int = 200, background: BackgroundTask | None = None, **context: Any
    ) -> HTMLResponse:
        body = self.env.get_template(name).render(sender=self.settings.sender, **context)
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"}, background=background)

    def message(
        self, title: str, text: str, status: int = 200, background: BackgroundTask | None = None
    ) -> HTMLResponse:
        return self.page("web/message.html.j2", status, background, title=title, text=text)

    def not_found(self) -> HTMLResponse:
        return self.message("Link not found", "This link is not valid.", 404)

    def form_page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page with a form: the browser's CSRF cookie (set here if new) and its signed twin in the form."""
        cookie = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(18)
        response = self.page(name, status, csrf=self.tokens.csrf_field(cookie), timezones=timezones(), **context)
        if request.cookies.get(CSRF_COOKIE) != cookie:
            response.set_cookie(CSRF_COOKIE, cookie, httponly=True, samesite="lax", secure=self.secure_cookie)
        return response

    async def checked_form(self, request: Request) -> dict[str, str]:
        """The posted fields; Refused when the CSRF token does not match this browser's cookie, or a field
        holds a NUL byte (no database stores one)."""
        form = await request.form(**FORM_LIMITS)
        values = {key: value for key, value in form.items() if isinstance(value, str)}
        if not self.tokens.csrf_ok(request.cookies.get(CSRF_COOKIE), values.pop("csrf", None)):
            if request.cookies.get(CSRF_COOKIE):
                problem = "This form had expired. What you typed is below: send it again."
            else:  # a browser that blocks cookies never sends one back: no reload would help
                problem = "Your browser did not send back this site's cookie, which its forms need: allow cookies "
                problem += "for this site, then send the form again."
            raise Refused(self.message("Please try again", problem, 403), problem, values)
        bad = next((key for key, value in values.items() if "\x00" in key or "\x00" in value), None)
        if bad is not None:
            problem = f"The field {bad[:40]!r} holds a NUL character."
            kept = {key: value.replace("\x00", "") for key, value in values.items() if "\x00" not in key}
            raise Refused(self.message("Please try again", problem, 400), problem, kept)
        return values

    def claimed(self, purpose: str, token: str) -> tuple[Claim, Subscriber] | None:
        """The token's claim and its reader, when the token is genuine and the reader still holds its key."""
        claim = self.tokens.read(purpose, token)
        if claim is None:
            return None
        found = self.ctx.subscribers.by_ids([claim.subscriber_id]).get(claim.subscriber_id)
        return (claim, found) if found is not None and claim.opens(found) else None

    def reader(self, purpose: str, token: str) -> Subscriber | None:
        found = self.claimed(purpose, token)
        return found[1] if found else None


def site(request: Request) -> Site:
    shared: Site = request.app.state.site
    return shared
