"""The web app (Starlette): double opt-in sign-up, preferences, RFC 8058 unsubscribe, feedback, archive, health.

A module per page, its handlers plain functions (app.py routes to them; site.py holds what they share).
Handlers are thin: read the token, call the store, render a page. Tokens are HMAC-signed with
`web.secret_key`, bound to the reader's link key and checked in constant time; a bad one gets 404 and
reveals nothing. No GET or HEAD changes anything (mail scanners open every link): confirmation and
feedback links show a page whose one button POSTs. Forms carry a signed double-submit CSRF token; the
one-click unsubscribe POST needs none (RFC 8058). guard.py adds the security headers and the access log.
"""

from newsletter.web.app import create_app

__all__ = ["create_app"]
