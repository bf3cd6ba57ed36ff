"""Peak memory of a real `newsletter send` process at 10,000 and 100,000 readers (target: <= 1.2x), and of
a send of 10,000 readers with the shared corpus stored as background against the same send without it
(target: <= 2x).

Readers are streamed in batches and messages pipelined through a bounded queue, so memory should not grow
with the list; the background costs one profile per distinct phrase (word rarity is the shipped model). Each run
is a fresh process against an aiosmtpd sink process; peak RSS from getrusage.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import sink as sink_process
from benchmarks.corpus import background_db
from newsletter import pipeline
from tests.conftest import base_settings
from tests.factories import ISSUE, insert_readers, make_paper

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000)

MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
if done.returncode:
    sys.exit(done.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.stdout.strip().splitlines()[-1])
"""


def populate(url: str, readers: int) -> None:
    ctx = pipeline.Context.open(base_settings(database={"url": url}))
    abstract = "We study sparse feature circuits in transformer language models and their reuse. " * 6
    ctx.papers.upsert(
        [make_paper(title=f"Circuits in transformer language models {i}", abstract=abstract) for i in range(12)]
    )
    insert_readers(ctx, readers, ("transformer circuits", "sparse autoencoders", "language model interpretability"))
    ctx.close()


def send(folder: str, readers: int, port: int, background: Path | None = None) -> tuple[float, float, str]:
    """Peak RSS (MB), seconds and the summary line of one `newsletter send` in a fresh process."""
    path = Path(folder) / "memory.db"
    if background is not None:
        shutil.copyfile(background, path)
    url = f"sqlite:///{path}"
    populate(url, readers)
    config = Path(folder) / "c.toml"
    key = base_settings().web.secret_key  # send refuses to sign reader links without a key of its own
    config.write_text(
        f'[database]\nurl = "{url}"\n[smtp]\nhost = "127.0.0.1"\nport = {port}\n[web]\nsecret_key = "{key}"\n'
    )
    started = time.monotonic()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURE,
            sys.executable,
            "-m",
            "newsletter",
            "--config",
            str(config),
            "send",
            "--date",
            str(ISSUE),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split(" ", 1)
    return int(out[0]) / 1024, time.monotonic() - started, out[1]


def main() -> None:
    sink, port = sink_process.start()
    results = {}
    corpus = background_db(set())
    try:
        for readers in SIZES:
            with tempfile.TemporaryDirectory() as folder:
                results[readers] = send(folder, readers, port)
        if corpus is not None:
            with tempfile.TemporaryDirectory() as folder:
                with_background = send(folder, SIZES[0], port, corpus)
    finally:
        sink.communicate("")
    print("\n== memory: peak RSS of `newsletter send` (a fresh process per size)")
    base = results[SIZES[0]][0]
    for readers, (rss, seconds, line) in results.items():
        print(
            f"{readers:>7} readers: {rss:7.1f} MB peak ({rss / base:.2f}x of {SIZES[0]:,}; target <= 1.2x) "
            f"in {seconds:.0f}s — {line}"
        )
    if corpus is None:
        print("with the background: skipped, the shared corpus is not there")
        return
    rss, seconds, line = with_background
    print(
        f"{SIZES[0]:>7} readers, 100k background: {rss:7.1f} MB peak ({rss / base:.2f}x without it; target <= 2x) "
        f"in {seconds:.0f}s — {line}"
    )


if __name__ == "__main__":
    main()
