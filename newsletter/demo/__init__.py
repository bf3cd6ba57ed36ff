"""`newsletter demo`: the whole pipeline on bundled sample papers, mailed to a local capture SMTP server."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from newsletter import pipeline
from newsletter.capture import CaptureServer, Received
from newsletter.config import Settings
from newsletter.errors import NewsletterError
from newsletter.models import SubscriberChanges
from newsletter.readers import subscriptions
from newsletter.screenshot import browser, screenshot

SAMPLE_FEED = Path(__file__).with_name("sample_daily_papers.json")


@dataclass(frozen=True)
class DemoReader:
    email: str
    name: str
    topics: tuple[str, ...]
    trending: int = 0  # a "Trending today" section of this many papers


READERS = (
    DemoReader(
        "ada@example.com",
        "Ada Interpretability",
        ("mechanistic interpretability", "circuits in transformer language models", "sparse autoencoders"),
    ),
    DemoReader(
        "grace@example.com",
        "Grace Chipdesign",
        ("analog circuit design", "low-dropout regulator", "mixed-signal ADC"),
    ),
    DemoReader(
        "santiago@example.com",
        "Santiago Neuro",
        ("neural circuits in the brain", "hippocampus memory", "spiking neural networks"),
        trending=2,
    ),
    # No topics at all: the day's trending papers, by upvotes with a time decay.
    DemoReader("lin@example.com", "Lin Trending", ()),
)


def run(settings: Settings, out_dir: Path, console: Console) -> None:
    """Fresh database in out_dir, sample ingest, four readers, one real SMTP send, files to open."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    with CaptureServer() as server:
        demo_settings = settings.replace(
            database={"url": f"sqlite:///{out_dir.resolve() / 'demo.db'}"},
            smtp={"host": "127.0.0.1", "port": server.port, "tls": "none", "username": "", "password": ""},
            # A throwaway database gets a throwaway key: the demo runs with no config at all.
            web={"secret_key": secrets.token_urlsafe(32)},
        )
        ctx = pipeline.Context.open(demo_settings)
        try:
            console.print(f"capture SMTP server listening on 127.0.0.1:{server.port}")
            result = pipeline.ingest_file(ctx, SAMPLE_FEED, "hf")
            console.print(f"ingested {result.new} sample papers from {SAMPLE_FEED.name}")
            for reader in READERS:
                subscriptions.add(
                    demo_settings,
                    ctx.subscribers,
                    reader.email,
                    SubscriberChanges(name=reader.name, topics=reader.topics, trending_items=reader.trending),
                )
            issue = ctx.papers.latest_announcement(pipeline.today(demo_settings))
            if issue is None:
                raise NewsletterError(f"{SAMPLE_FEED}: the sample feed has no announcement date")
            summary = pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=issue, show_progress=False))
            console.print(summary.line(f"issue {issue}"))
            again = pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=issue, show_progress=False))
            console.print(f"sent again the same day: {again.sent} more messages (each reader gets an issue once)")
        finally:
            ctx.close()
        _write(server.messages, out_dir, console)


def _write(received: list[Received], out_dir: Path, console: Console) -> None:
    table = Table("subscriber", "papers", "size", "file", title="What the SMTP server received")
    first_html = None
    order = [r.email for r in READERS]
    # The pool sends in parallel, so arrival order varies; files are numbered in reader order.
    received = sorted(received, key=lambda item: order.index(item.recipients[0]))
    for n, item in enumerate(received, start=1):
        message = item.message
        local = item.recipients[0].split("@")[0]
        stem = out_dir / f"{n:02d}-{local}"
        stem.with_suffix(".eml").write_bytes(item.data)
        html_part = message.get_body(("html",))
        html = html_part.get_content() if html_part is not None else ""
        stem.with_suffix(".html").write_text(html, encoding="utf-8")
        if browser() is not None:
            screenshot(stem.with_suffix(".html"), stem.with_suffix(".png"))
        first_html = first_html or stem.with_suffix(".html")
        papers = html.count('class="paper-title"')
        files = "{eml,html,png}" if browser() is not None else "{eml,html}"
        table.add_row(item.recipients[0], str(papers), f"{len(item.data) / 1024:.1f} KB", f"{stem}.{files}")
    console.print(table)
    if first_html is not None:
        console.print(
            f"Open [bold]{first_html.resolve()}[/bold] in a browser to see a digest "
            f"(the .eml files open in any mail client)."
        )
