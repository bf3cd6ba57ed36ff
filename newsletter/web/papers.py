"""The public pages: the day's papers (/), search (/search), the archive of days (/archive) and health."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from newsletter.errors import InputError
from newsletter.links import archive_url, day_url, search_url
from newsletter.paper_views import format_day, listed_views
from newsletter.query import parse as parse_query
from newsletter.web.site import site

SEARCH_PAGE = 20
MAX_SEARCH_PAGE = 500  # 10,000 results deep is enough for a person; past it the database would overflow


async def daily_papers(request: Request) -> Response:
    """The day's papers by trending score, newest day first, a day per page."""
    try:
        day = date.fromisoformat(request.query_params["day"]) if "day" in request.query_params else None
    except ValueError:
        return site(request).not_found()
    return day_page(request, day or site(request).ctx.papers.latest_announcement(date.max))


async def archive_day(request: Request) -> Response:
    try:
        day = date.fromisoformat(request.path_params["day"])
    except ValueError:
        return site(request).not_found()
    return day_page(request, day)


def day_page(request: Request, day: date | None) -> Response:
    web = site(request)
    papers = web.ctx.papers.list(on=day, trending=True) if day else []
    older, newer = web.ctx.papers.neighbour_days(day) if day else (None, None)
    announced = f"{len(papers)} paper{'' if len(papers) == 1 else 's'}"
    return web.form_page(
        request,
        "web/papers.html.j2",
        title="Daily papers",
        heading=f"Daily papers — {format_day(day)}" if day else "Daily papers",
        query="",
        papers=listed_views(papers),
        note=f"{announced} announced {format_day(day)}, most upvoted first." if papers and day else None,
        empty="No papers yet." if day is None else f"Nothing was announced on {format_day(day)}.",
        newer=(format_day(newer), day_url(newer)) if newer else None,
        older=(format_day(older), day_url(older)) if older else None,
        subscribe_label="The most upvoted new papers every morning. Or search for a topic and get that.",
    )


async def search(request: Request) -> Response:
    web = site(request)
    text = request.query_params.get("q", "").strip()
    try:
        page_number = min(max(1, int(request.query_params.get("page", "1"))), MAX_SEARCH_PAGE)
    except ValueError:
        page_number = 1
    context: dict[str, Any] = {"title": "Search", "heading": "Search papers", "query": text, "search": True}
    if not text:
        return web.form_page(request, "web/papers.html.j2", papers=[], **context)
    try:
        query = parse_query(text)
        hits = await run_in_threadpool(
            web.ctx.search.search, query, limit=SEARCH_PAGE + 1, offset=(page_number - 1) * SEARCH_PAGE
        )
    except InputError as exc:
        return web.form_page(request, "web/papers.html.j2", 400, papers=[], error=str(exc), **context)
    more = len(hits) > SEARCH_PAGE
    found = [h.paper for h in hits[:SEARCH_PAGE]]
    return web.form_page(
        request,
        "web/papers.html.j2",
        papers=listed_views(found),
        note=f"Results {(page_number - 1) * SEARCH_PAGE + 1}–{(page_number - 1) * SEARCH_PAGE + len(found)}, "
        "best match first."
        if found
        else None,
        empty=f"No paper matches “{text}”.",
        newer=("Previous results", search_url(text, page_number - 1)) if page_number > 1 else None,
        older=("More results", search_url(text, page_number + 1)) if more else None,
        subscribe_label=f"New papers matching “{text}”, ranked for you, every morning.",
        **{**context, "title": f"{text} — Search"},
    )


async def archive(request: Request) -> Response:
    web = site(request)
    days = [(day, count, archive_url(day)) for day, count in web.ctx.papers.announcement_days()]
    return web.page("web/archive.html.j2", title="Archive", days=days)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "papers": site(request).ctx.papers.count()})
