"""The Starlette app: each route to its page's handler, the guard middleware, the shared state on app.state."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from newsletter.pipeline import Context
from newsletter.web import feedback, papers, preferences, signup, unsubscribe
from newsletter.web.guard import Guard
from newsletter.web.site import Refused, Site, no_such_page, refused


def create_app(ctx: Context) -> Starlette:
    app = Starlette(
        routes=[
            Route("/subscribe", signup.subscribe_page, methods=["GET"]),
            Route("/subscribe", signup.subscribe, methods=["POST"]),
            Route("/subscribe/sent", signup.sent_page, methods=["GET"]),
            Route("/confirm/{token}", signup.confirm_page, methods=["GET"]),
            Route("/confirm/{token}", signup.confirm, methods=["POST"]),
            Route("/preferences/{token}", preferences.preferences, methods=["GET"]),
            Route("/preferences/{token}", preferences.update_preferences, methods=["POST"]),
            Route("/unsubscribe/{token}", unsubscribe.unsubscribe_page, methods=["GET"]),
            Route("/unsubscribe/{token}", unsubscribe.unsubscribe, methods=["POST"]),
            Route("/feedback/{token}/{paper:path}/{direction:str}", feedback.feedback_page, methods=["GET"]),
            Route("/feedback/{token}/{paper:path}/{direction:str}", feedback.feedback, methods=["POST"]),
            Route("/", papers.daily_papers),
            Route("/search", papers.search),
            Route("/archive", papers.archive),
            Route("/archive/{day}", papers.archive_day),
            Route("/healthz", papers.healthz),
            Mount(
                "/static", StaticFiles(directory=Path(ctx.settings.paths.templates) / "web" / "static"), name="static"
            ),
        ],
        middleware=[Middleware(Guard)],
        exception_handlers={Refused: refused, 404: no_such_page},
    )
    app.state.site = Site(ctx)
    return app
