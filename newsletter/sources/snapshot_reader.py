"""The metadata snapshot read, parsed and cleaned in a process of its own, handed over batch by batch.

Parsing and cleaning are Python work as large as storing: in one process they take turns on the GIL, so an
import ran on one core whatever the machine had. A child process does them on another core while the
parent stores the batch before; a batch is handed over a pipe only as the parent takes it, so at most one
waits between the two and memory stays flat.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Generator
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

from newsletter.config import IngestSettings
from newsletter.errors import FeedError, NewsletterError
from newsletter.interrupts import interrupts_ignored
from newsletter.sources import arxiv_metadata
from newsletter.sources.base import ParsedFeed
from newsletter.sources.clean import clean_feed


def cleaned_batches(path: str | Path, caps: IngestSettings, where: str) -> Generator[arxiv_metadata.Batch, None, None]:
    """Each batch of the snapshot with its papers cleaned (the ones that cannot be moved to its problems).

    The reader's FeedError is raised here as it is; a reader that dies (killed, out of memory), even in the
    middle of handing a batch over, is a FeedError naming the file, never a wait for ever: this end of the
    pipe is its only reader, and the reader process holds its only writer."""
    context = multiprocessing.get_context("spawn")  # no copy of this process's open database connections
    receive, send = context.Pipe(duplex=False)
    reader = context.Process(target=_read, args=(str(path), caps, where, send), name="snapshot-reader", daemon=True)
    with interrupts_ignored():  # Ctrl-C is the importing process's to handle: it stops the reader itself
        reader.start()
    send.close()  # the reader's copy is the only one left: its end is an end of file here
    try:
        while True:
            try:
                item = receive.recv()
            except (EOFError, OSError):  # gone between two batches, or in the middle of one
                reader.join()
                raise FeedError(f"reading {path} stopped (the reader exited with {reader.exitcode})") from None
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        receive.close()
        if reader.is_alive():
            reader.terminate()
        reader.join()


def _read(path: str, caps: IngestSettings, where: str, send: Connection) -> None:
    try:
        try:
            for batch in arxiv_metadata.batches(path):
                cleaned = clean_feed(ParsedFeed(batch.papers, batch.problems), caps, where)
                for paper in cleaned.papers:
                    paper.fingerprint  # noqa: B018 - made on this core, and pickled with the paper
                send.send(replace(batch, papers=cleaned.papers, problems=cleaned.problems))
            send.send(None)
        except NewsletterError as exc:
            send.send(exc)
        except Exception as exc:  # a bug: said in one line by the parent rather than a traceback nobody sees
            send.send(FeedError(f"reading {path} failed: {type(exc).__name__}: {exc}"))
    except OSError:  # the pipe: the importing process stopped reading (Ctrl-C, an error of its own)
        return  # nobody to tell; multiprocessing printed "Process snapshot-reader:" and a traceback
