"""The polite fetcher against a real HTTP server on 127.0.0.1: what the server saw, not only what came back."""

import pytest

from newsletter.errors import FeedError
from newsletter.models import Validators
from newsletter.sources.fetch import Fetcher
from tests.conftest import Answer


def fetcher(**kw) -> Fetcher:
    kw.setdefault("sleep", lambda _: None)
    return Fetcher("newsletter-test/1.0 (mailto:ops@example.com)", **kw)


def test_sends_user_agent_and_accept(feed_server) -> None:
    route = feed_server.route("/f", Answer(body=b"ok"))
    assert fetcher(accept="application/atom+xml").get(f"{feed_server.base}/f").body == b"ok"
    headers = route.calls[0].headers
    assert headers["User-Agent"] == "newsletter-test/1.0 (mailto:ops@example.com)"
    assert headers["Accept"] == "application/atom+xml"


def test_paces_requests_over_one_connection(feed_server) -> None:
    route = feed_server.route("/f", Answer(body=b"ok"))
    f = Fetcher("ua", min_interval=0.3)
    for _ in range(3):
        f.get(f"{feed_server.base}/f")
    gaps = [b.at - a.at for a, b in zip(route.calls, route.calls[1:], strict=False)]
    assert all(gap >= 0.29 for gap in gaps), gaps


def test_conditional_get_uses_stored_validators(feed_server) -> None:
    route = feed_server.route("/f", Answer(body=b"feed", etag='"v1"', headers={"Last-Modified": "Tue, 18 Jun 2024"}))
    f = fetcher()
    first = f.get(f"{feed_server.base}/f")
    assert first.status == 200 and first.validators == Validators('"v1"', "Tue, 18 Jun 2024")
    second = f.get(f"{feed_server.base}/f", validators=first.validators)
    assert second.status == 304 and second.body == b""
    assert second.validators.etag == '"v1"' and second.validators.last_modified == "Tue, 18 Jun 2024"
    assert route.calls[1].headers["If-None-Match"] == '"v1"'
    assert route.calls[1].headers["If-Modified-Since"] == "Tue, 18 Jun 2024"


def test_429_honours_retry_after(feed_server) -> None:
    route = feed_server.route("/f", Answer(429, headers={"Retry-After": "4"}), Answer(body=b"ok"))
    waits: list[float] = []
    assert fetcher(sleep=waits.append).get(f"{feed_server.base}/f").body == b"ok"
    assert waits == [4.0] and len(route.calls) == 2


def test_503_is_retried_with_growing_jittered_backoff_then_given_up(feed_server) -> None:
    route = feed_server.route("/f", Answer(503))
    waits: list[float] = []
    with pytest.raises(FeedError, match=r"/f: HTTP 503 \(gave up after 4 attempts\)"):
        fetcher(sleep=waits.append, backoff=1.0).get(f"{feed_server.base}/f")
    assert len(route.calls) == 4 and len(waits) == 3
    assert all(0.5 <= w <= 2**i for i, w in enumerate(waits))


def test_slow_server_times_out(feed_server) -> None:
    feed_server.route("/f", Answer(body=b"late", delay=1.0))
    with pytest.raises(FeedError, match=r"timed out \(gave up after 2 attempts\)"):
        fetcher(timeout=0.2, attempts=2).get(f"{feed_server.base}/f")


def test_cut_off_body_is_an_error_not_half_a_feed(feed_server) -> None:
    feed_server.route("/f", Answer(body=b"<feed>" + b"x" * 1000 + b"</feed>", cut=True))
    with pytest.raises(FeedError, match="RemoteProtocolError"):
        fetcher(attempts=2).get(f"{feed_server.base}/f")


def test_html_instead_of_a_feed(feed_server) -> None:
    feed_server.route("/f", Answer(body=b"<html>login</html>", headers={"Content-Type": "text/html; charset=utf-8"}))
    with pytest.raises(FeedError, match="served an HTML page"):
        fetcher().get(f"{feed_server.base}/f")


def test_client_error_is_final_and_explained(feed_server, data_file) -> None:
    body = data_file("arxiv_api_error_400.xml").read_bytes()
    route = feed_server.route("/api/query", Answer(400, body, {"Content-Type": "application/atom+xml"}))
    with pytest.raises(FeedError, match="HTTP 400: incorrect id format for abc"):
        fetcher().get(f"{feed_server.base}/api/query")
    assert len(route.calls) == 1
