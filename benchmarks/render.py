"""Per-email cost of each rendering step, measured side by side in one run, as ratios.

The machines are shared and noisy, so every step is timed in interleaved rounds and reported as min/median;
the ratios to a bare Jinja render are what to compare across runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP

from newsletter.config import load_settings
from newsletter.inlining import inline_css
from newsletter.links import reader_links
from newsletter.message import Composer
from newsletter.render import Renderer
from tests.factories import make_digest, make_paper, make_subscriber

EMAILS = 100
ROUNDS = 5


def naive_composer(settings, renderer, composer):  # type: ignore[no-untyped-def]
    """What every paper-digest script does: inline each email with premailer, build it with EmailMessage."""

    def build(digest):  # type: ignore[no-untyped-def]
        html = renderer.render_inlining_each(digest, reader_links(settings, composer.tokens, digest.subscriber))
        msg = EmailMessage(policy=SMTP)
        msg["Subject"] = renderer.subject(digest)
        msg["To"] = digest.subscriber.email
        msg.set_content("text", charset="utf-8", cte="quoted-printable")
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
        return msg.as_bytes()

    return build


def main() -> None:
    settings = load_settings(env={})
    renderer = Renderer(settings)
    composer = Composer(settings, renderer)
    abstract = "We study sparse circuits in transformer language models with care and at scale. " * 8
    papers = [make_paper(abstract=abstract, upvotes=i) for i in range(30)]
    # Readers with the same topics share a digest (the common case: a few topics, many readers) ...
    shared = [make_digest(papers[:10], make_subscriber(id=n + 1, name=f"Reader {n}")) for n in range(EMAILS)]
    # ... and readers whose history makes every digest different (other papers, other order).
    unique = [
        make_digest([papers[(n + k * 7) % 30] for k in range(10)], make_subscriber(id=n + 1, name=f"Reader {n}"))
        for n in range(EMAILS)
    ]
    naive = naive_composer(settings, renderer, composer)
    links = reader_links(settings, composer.tokens, shared[0].subscriber)
    context_html = renderer.html_template.render(renderer.context(shared[0], links))  # one email, re-inlined

    def bare(digests):  # type: ignore[no-untyped-def]
        """The same mail with no inlining and no MIME: both parts rendered by Jinja, as any mailer must."""
        for d in digests:
            context = renderer.context(d, reader_links(settings, composer.tokens, d.subscriber))
            renderer.html_template.render(context)
            renderer.text_template.render(context)

    steps: dict[str, Callable[[], object]] = {
        "bare jinja: html + text": lambda: bare(unique),
        "premailer on one email (avoided)": lambda: [inline_css(context_html) for _ in shared],
        "compose, readers sharing a digest": lambda: [composer.compose(d) for d in shared],
        "compose, every digest different": lambda: [composer.compose(d) for d in unique],
        "naive: premailer + EmailMessage": lambda: [naive(d) for d in unique],
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(ROUNDS):
        for name, step in steps.items():
            renderer._shared.clear()  # every round renders afresh
            started = time.perf_counter()
            step()
            times[name].append((time.perf_counter() - started) / EMAILS * 1000)

    base = statistics.median(times["bare jinja: html + text"])
    size = len(composer.compose(shared[0]).data)
    print(f"\n== render: {EMAILS} emails of 10 papers ({size / 1024:.1f} KB each), {ROUNDS} interleaved rounds")
    print(f"{'step':42} {'min ms':>8} {'median ms':>10} {'x bare':>8}  target")
    for name, values in times.items():
        median = statistics.median(values)
        target = "<= 1.5" if name.startswith("compose") else ""
        print(f"{name:42} {min(values):8.3f} {median:10.3f} {median / base:8.2f}  {target}")


if __name__ == "__main__":
    main()
