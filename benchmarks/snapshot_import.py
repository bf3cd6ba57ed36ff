"""Importing arXiv's metadata snapshot: the whole `ingest --format arxiv-metadata` command vs parsing alone.

Both sides run as whole processes on the shared corpus (100,133 real records, gzipped JSON lines), start-up
included, in interleaved rounds; the import's resident memory is sampled from /proc while it runs, to show
that it stays flat (the snapshot is streamed in batches, one transaction each).

Target (issue 14): the import costs at most 3x parsing; memory during the import stays flat.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.ingest import databases
from newsletter.store import Database

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "arxiv-metadata-100k.jsonl.gz"
ROUNDS = 2
PARSE_ONLY = (
    "import sys\n"
    "from newsletter.sources.arxiv_metadata import batches\n"
    "print(sum(len(b.papers) for b in batches(sys.argv[1])))\n"
)


def timed(argv: list[str], allowed: tuple[int, ...] = (0,)) -> tuple[float, float, list[tuple[float, int]], str]:
    """Wall time of a process, its CPU time (all its threads; not a database server's), its resident memory
    over time (seconds, KiB), and what it printed."""
    cpu = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int]] = []
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            rss = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmRSS"))
            samples.append((time.perf_counter() - started, rss))
        except (OSError, StopIteration):
            pass
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    out, err = process.communicate()
    if process.returncode not in allowed:
        raise SystemExit(f"{argv[:3]} failed ({process.returncode}): {err.strip()[-500:]}")
    return elapsed, _children_cpu() - cpu, samples, out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rss_at(samples: list[tuple[float, int]], share: float) -> int:
    """Resident memory (MiB) when `share` of the run had passed."""
    end = samples[-1][0]
    return next(rss for t, rss in samples if t >= share * end) // 1024


def main() -> None:
    if not CORPUS.exists():
        print(f"\n== snapshot import: {CORPUS} is not here; skipped")
        return
    newsletter = str(Path(sys.executable).with_name("newsletter"))
    print(f"\n== snapshot import: {CORPUS.name}, whole processes, {ROUNDS} interleaved rounds (seconds)")
    print("(cpu: the command's own CPU seconds, a median; a PostgreSQL server's work is not in it)")
    print(
        f"{'database':11} {'step':22} {'min s':>7} {'median s':>9} {'x parse':>8} {'target':>7} "
        f"{'cpu s':>6} {'x parse':>8}  memory (MiB)"
    )
    for label, make_db in databases():
        parse: list[float] = []
        imports: list[float] = []
        parse_cpu: list[float] = []
        import_cpu: list[float] = []
        memory: list[tuple[float, int]] = []
        for _ in range(ROUNDS):
            elapsed, cpu, _, out = timed([sys.executable, "-c", PARSE_ONLY, str(CORPUS)])
            parse.append(elapsed)
            parse_cpu.append(cpu)
            count = int(out)
            url, cleanup = make_db()
            db = Database(url, str(ROOT / "migrations"))
            db.upgrade()
            db.dispose()
            with tempfile.NamedTemporaryFile("w", suffix=".toml") as config:
                config.write(f'[database]\nurl = "{url}"\n')
                config.flush()
                argv = [newsletter, "--config", config.name, "ingest", "--file", str(CORPUS), "--format"]
                # Exit 1 when the real corpus has a record past a cap (one author "name" of 1,500 characters):
                # it is skipped with a warning, and counted here.
                elapsed, cpu, memory, out = timed([*argv, "arxiv-metadata", "--json"], allowed=(0, 1))
            imports.append(elapsed)
            import_cpu.append(cpu)
            (run,) = json.loads(out)
            assert run["new"] + run["errors"] == count and run["errors"] < 10, run
            cleanup()
        base = statistics.median(parse)
        flat = " ".join(f"{int(share * 100)}%: {rss_at(memory, share)}" for share in (0.25, 0.5, 0.75, 1.0))
        peak = max(rss for _, rss in memory) // 1024
        base_cpu = statistics.median(parse_cpu)
        print(
            f"{label:11} {'parse alone':22} {min(parse):7.2f} {base:9.2f} {1.0:8.2f} {'':>7} {base_cpu:6.2f} {1.0:8.2f}"
        )
        median = statistics.median(imports)
        step = "import (whole command)"
        print(
            f"{label:11} {step:22} {min(imports):7.2f} {median:9.2f} {median / base:8.2f} {'<= 3':>7} "
            f"{statistics.median(import_cpu):6.2f} {statistics.median(import_cpu) / base_cpu:8.2f}  {flat}; peak {peak}"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
