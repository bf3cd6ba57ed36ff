"""Sending cost: `send` of 2,000 digests vs a raw aiosmtplib blast of the same messages, and vs a naive pipeline.

Targets (issue "Delivery engine"): send >= 0.8x the raw blast over the same number of connections to the
same sink (an aiosmtpd process of its own); >= 20x a naive pipeline (premailer per mail, a new SMTP
connection per mail). Issue 16: `newsletter send` timed as a whole process (start-up, imports, choosing,
archiving and sending, on a database of its own prepared alike) also >= 0.8x the raw blast. Printed as
messages per second and ratios, measured side by side in one run.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiosmtplib

from benchmarks import sink as sink_process
from benchmarks.startup import byte_compiled, process_env
from newsletter import pipeline
from newsletter.message import Composer
from tests.conftest import base_settings
from tests.factories import ISSUE, insert_readers, make_paper

ROOT = Path(__file__).resolve().parent.parent
READERS = 2000
NAIVE = 200
POOL = 4
ROUNDS = 5


def bench_settings(path: Path, port: int) -> dict[str, dict[str, object]]:
    return {
        "database": {"url": f"sqlite:///{path}"},
        "smtp": {"host": "127.0.0.1", "port": port, "pool_size": POOL, "retry_wait": 0},
    }


def prepared(path: Path, port: int) -> pipeline.Context:
    settings = base_settings(**bench_settings(path, port))
    ctx = pipeline.Context.open(settings)
    abstract = "We study sparse feature circuits in transformer language models and their reuse. " * 6
    ctx.papers.upsert(
        [
            make_paper(title=f"Circuits in transformer language models {i}", abstract=abstract, upvotes=i)
            for i in range(12)
        ]
    )
    insert_readers(ctx, READERS)
    return ctx


async def raw_blast(messages: list[tuple[str, str, bytes]], port: int) -> float:
    """The same pre-built messages over POOL reused connections: the ceiling for this sink."""
    queue: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)

    async def one() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        while not queue.empty():
            sender, recipient, data = queue.get_nowait()
            await client.sendmail(sender, [recipient], data)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(POOL)))
    return len(messages) / (time.perf_counter() - started)


def whole_process(path: Path, port: int) -> float:
    """`newsletter send` as an operator runs it, on a database prepared like the in-process one."""
    prepared(path, port).close()
    byte_compiled()
    settings = base_settings(**bench_settings(path, port))
    env = process_env(
        **bench_settings(path, port),
        web={"secret_key": settings.web.secret_key, "base_url": settings.web.base_url},
        paths={"cache": settings.paths.cache},
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "send", "--date", str(ISSUE)],
        env=env,
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    assert f"{READERS} sent, 0 failed" in result.stdout, result.stdout + result.stderr
    return READERS / elapsed


async def naive(ctx: pipeline.Context, port: int, count: int) -> float:
    """premailer on every rendered email, EmailMessage, and a new connection per message."""
    from benchmarks.render import naive_composer

    composer = Composer(ctx.settings)
    build = naive_composer(ctx.settings, composer.renderer, composer)
    readers = ctx.subscribers.list()[:count]
    started = time.perf_counter()
    for reader in readers:
        digest = ctx.archive.load_digest(reader, ISSUE)
        await aiosmtplib.send(
            build(digest),
            sender="papers@example.com",
            recipients=[reader.email],
            hostname="127.0.0.1",
            port=port,
            start_tls=False,
        )
    return count / (time.perf_counter() - started)


def main() -> None:
    sink, port = sink_process.start()
    rates: dict[str, list[float]] = {
        "raw aiosmtplib blast": [],
        "newsletter send": [],
        "  of which the campaign": [],
        "newsletter send, whole process": [],
        "naive pipeline": [],
    }
    try:
        for _ in range(ROUNDS):
            with tempfile.TemporaryDirectory() as folder:
                ctx = prepared(Path(folder) / "bench.db", port)
                # The very messages `send` will build (same digests, same Message-IDs), built beforehand.
                composer = Composer(ctx.settings)
                builder = pipeline.DigestBuilder(ctx)
                messages = []
                for s in ctx.subscribers.list():
                    out = composer.compose(builder.build(s, ISSUE))
                    messages.append((out.sender, out.recipient, out.data))
                rates["raw aiosmtplib blast"].append(asyncio.run(raw_blast(messages, port)))
                # The whole `send`, as an operator runs it: select, archive, claim, compose, deliver, record.
                started = time.perf_counter()
                summary = pipeline.send_issue(ctx, pipeline.SendOptions(issue_date=ISSUE, show_progress=False))
                rates["newsletter send"].append(summary.sent / (time.perf_counter() - started))
                # Claim, compose, send, record: from the campaign's start (it sends each batch of readers as
                # soon as it is archived, so archiving the next batches is inside this time).
                rates["  of which the campaign"].append(summary.sent / summary.elapsed)
                assert summary.sent == READERS, summary.line("bench")
                rates["naive pipeline"].append(asyncio.run(naive(ctx, port, NAIVE)))
                ctx.close()
                rates["newsletter send, whole process"].append(whole_process(Path(folder) / "process.db", port))
    finally:
        sink.communicate("")
    raw = statistics.median(rates["raw aiosmtplib blast"])
    ours = statistics.median(rates["newsletter send"])
    size = len(messages[0][2]) / 1024
    print(
        f"\n== delivery: {READERS} digests ({size:.0f} KB each) to an aiosmtpd sink in another process, pool of "
        f"{POOL}, {ROUNDS} rounds (messages/second)"
    )
    print(f"{'sender':32} {'min':>8} {'median':>8}  ratio")
    for name, values in rates.items():
        print(f"{name:32} {min(values):8.1f} {statistics.median(values):8.1f}")
    whole = statistics.median(rates["newsletter send, whole process"])
    print(
        f"send / raw blast = {ours / raw:.2f} (target >= 0.8); "
        f"send as a whole process / raw blast = {whole / raw:.2f} (target >= 0.8); "
        f"send / naive = {ours / statistics.median(rates['naive pipeline']):.1f} (target >= 20; the raw blast itself "
        f"is {raw / statistics.median(rates['naive pipeline']):.1f}x naive against this sink)"
    )


if __name__ == "__main__":
    main()
