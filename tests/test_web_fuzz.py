"""No input answers 5xx: Hypothesis sends odd values (NUL bytes, huge numbers, odd unicode, very long text)
to every route, path parameter, query parameter and form field, on SQLite and PostgreSQL; an answer that is
an error changes no data."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from newsletter.models import SubscriberChanges
from newsletter.readers import subscriptions
from newsletter.readers.subscriptions import COLUMNS
from newsletter.store.tables import Base
from newsletter.tokens import Tokens
from newsletter.web import create_app
from tests.factories import make_paper

# Every route: its path, the path parameters, the query parameters and the form fields it reads.
FORM_FIELDS = (*COLUMNS, "search", "trending_items", "weekday", "action", "List-Unsubscribe")
ROUTES = {
    "/subscribe": ((), ("q",)),
    "/subscribe/sent": ((), ()),
    "/confirm/{token}": (("token",), ()),
    "/preferences/{token}": (("token",), ("done",)),
    "/unsubscribe/{token}": (("token",), ()),
    "/feedback/{token}/{paper:path}/{direction:str}": (("token", "paper", "direction"), ()),
    "/": ((), ("day",)),
    "/search": ((), ("q", "page")),
    "/archive": ((), ()),
    "/archive/{day}": (("day",), ()),
    "/healthz": ((), ()),
    "/static": (("file",), ()),
}
PAPER = "2611.70001"
ODD = [
    "99999999999999999999",
    "-1",
    "0",
    "1e999",
    "NaN",
    "\x00",
    "a\x00b",
    "9" * 5000,
    "x" * 70_000,
    "9999-12-31",
    "0001-01-01",
    "%00",
    "../../etc/passwd",
    "‮evil",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\u200b",
    "Ω≈ç√",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "Europe/Berlin",
    "weekly",
    "pause",
    "resume",
    "save",
    "more",
    "less",
    PAPER,
    "ada@example.com",
]
values = st.one_of(st.sampled_from(ODD), st.text(max_size=40), st.integers().map(str))
# A URL stays under 8 KB (HTTP clients and servers refuse longer ones before the app sees them).
in_url = values.filter(lambda v: len(v) <= 5000)
DATA_TABLES = [t for t in Base.metadata.sorted_tables]


def snapshot(ctx) -> str:
    """A fingerprint of every row the app may change (times included)."""
    digest = hashlib.sha256()
    with ctx.db.engine.connect() as conn:
        for table in DATA_TABLES:
            for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture
def world(ctx):
    """The app, a reader with genuine tokens, a paper, and a browser that has a CSRF cookie."""
    reader = subscriptions.add(ctx.settings, ctx.subscribers, "ada@example.com", SubscriberChanges(topics=("x",)))
    ctx.papers.upsert([make_paper(id=PAPER, title="A paper")])
    app = create_app(ctx)
    client = TestClient(app, base_url="https://testserver", follow_redirects=False, raise_server_exceptions=False)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/subscribe").text).group(1)
    tokens = Tokens(ctx.settings.web.secret_key)
    genuine = {purpose: tokens.make(purpose, reader) for purpose in ("confirm", "preferences", "unsubscribe")}
    genuine["feedback"] = tokens.make("feedback", reader)
    return app, client, csrf, genuine


def test_the_fuzzed_routes_are_all_the_routes(world) -> None:
    app = world[0]
    paths = {r.path for r in app.routes if isinstance(r, Route | Mount)}
    assert paths == set(ROUTES), "a route was added or removed: list it in ROUTES so it is fuzzed"


@st.composite
def requests(draw, genuine: dict[str, str], csrf: str):  # type: ignore[no-untyped-def]
    template = draw(st.sampled_from(sorted(ROUTES)))
    path_params, query_params = ROUTES[template]
    path = template.split("{")[0].rstrip("/") if template != "/" else "/"
    if template == "/static":
        path = "/static/" + draw(st.sampled_from(["site.css", "timezone.js", "../web/base.html.j2", "nope"]))
    for name in path_params:
        if name == "token":
            purpose = template.split("/")[1]
            value = draw(st.one_of(st.just(genuine[purpose]), in_url))
        elif name == "paper":
            value = draw(st.one_of(st.just(PAPER), in_url))
        elif name == "direction":
            value = draw(st.one_of(st.sampled_from(["more", "less"]), in_url))
        elif name == "day":
            value = draw(in_url)
        else:
            continue
        path += "/" + quote(value, safe="")  # as a browser sends it: %00 for a NUL byte
    query = {name: draw(in_url) for name in query_params if draw(st.booleans())}
    method = draw(st.sampled_from(["GET", "HEAD", "POST"]))
    form = {}
    if method == "POST":
        form = {name: draw(values) for name in FORM_FIELDS if draw(st.booleans())}
        if draw(st.integers(0, 4)):  # mostly past the CSRF check, so the handlers see the fields
            form["csrf"] = csrf
    return method, path, query, form


@pytest.mark.slow
def test_no_input_answers_5xx_and_an_error_changes_nothing(ctx, world) -> None:
    _, client, csrf, genuine = world

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(requests(genuine, csrf))
    def check(request) -> None:  # type: ignore[no-untyped-def]
        method, path, query, form = request
        before = snapshot(ctx)
        answer = client.request(method, path, params=query, data=form or None)
        assert answer.status_code < 500, (method, path, query, form, answer.text[:300])
        if answer.status_code >= 400:
            assert snapshot(ctx) == before, (method, path, query, form, answer.status_code)

    check()


@pytest.mark.parametrize(
    ("method", "path", "kw"),
    [
        ("GET", "/search", {"params": {"q": "circuits", "page": "99999999999999999999"}}),
        ("GET", "/search", {"params": {"q": "circuits", "page": "-1"}}),
        ("GET", "/search", {"params": {"q": "circ\x00uits"}}),
        ("GET", "/archive/9999-12-31", {}),
        ("GET", "/", {"params": {"day": "0001-01-01"}}),
        ("GET", f"/feedback/x/{'9' * 5000}/more", {}),
        ("GET", "/archive/%00", {}),
        ("GET", "/preferences/%00", {}),
        ("POST", "/subscribe", {"data": {"email": "nul\x00@example.com", "topics": "a\x00b"}}),
        ("POST", "/subscribe", {"data": {"email": "big@example.com", "name": "n" * 70_000}}),
        ("POST", "/subscribe", {"data": {f"f{n}": "x" for n in range(200)}}),
    ],
)
def test_the_reported_inputs_answer_below_500(ctx, world, method, path, kw) -> None:
    _, client, csrf, _ = world
    if "data" in kw:
        kw = {"data": {**kw["data"], "csrf": csrf}}
    before = snapshot(ctx)
    answer = client.request(method, path, **kw)
    assert answer.status_code < 500, answer.text[:300]
    if answer.status_code >= 400:
        assert snapshot(ctx) == before
