"""Start-up: `newsletter --help` and `newsletter subscribers list` as whole processes, against `import click`.

Targets (issue 16): --help within 3x `python -c "import click"`, `subscribers list` within 6x, on the same
interpreter, median of 7 interleaved runs (the machine is shared and noisy: min and median are printed).
"""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newsletter import pipeline
from tests.conftest import base_settings
from tests.factories import insert_readers

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
READERS = 50
CLI = [sys.executable, "-m", "newsletter"]


def process_env(**sections: dict[str, object]) -> dict[str, str]:
    """The environment that gives a `newsletter` process these settings (NEWSLETTER_<SECTION>_<KEY>)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    for section, values in sections.items():
        for key, value in values.items():
            env[f"NEWSLETTER_{section.upper()}_{key.upper()}"] = str(value)
    return env


def byte_compiled() -> None:
    """The package's bytecode written, as `pip install` of the wheel (and `make install`) leave it: with
    PYTHONDONTWRITEBYTECODE set (as on these machines) an editable checkout never caches it, and every process
    compiled ~130 modules again (0.8 s to import what `send` needs, 0.6 s compiled; medians of 5)."""
    compileall.compile_dir(ROOT / "newsletter", quiet=1)


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process; CPU time suffers less from a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    byte_compiled()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'startup.db'}"
        settings = base_settings(database={"url": url})
        ctx = pipeline.Context.open(settings)
        insert_readers(ctx, READERS)
        ctx.close()
        env = process_env(database={"url": url}, paths={"cache": settings.paths.cache})
        commands = {
            'python -c "import click"': [sys.executable, "-c", "import click"],
            "newsletter --help": [*CLI, "--help"],
            "newsletter subscribers list": [*CLI, "subscribers", "list"],
        }
        for command in commands.values():  # warm the file cache and the schema check's cache
            timed(command, env, Path(folder))
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(RUNS):
            for name, command in commands.items():
                times[name].append(timed(command, env, Path(folder)))
    base = times['python -c "import click"']
    click_wall, click_cpu = (statistics.median(t[i] for t in base) for i in (0, 1))
    targets = {"newsletter --help": 3, "newsletter subscribers list": 6}
    print(f"\n== start-up: whole processes, {RUNS} interleaved runs (seconds; {READERS} readers listed)")
    print(f"{'command':30} {'wall min':>8} {'median':>7} {'x click':>7}   {'CPU min':>7} {'median':>7} {'x click':>7}")
    for name, values in times.items():
        wall, cpu = [t[0] for t in values], [t[1] for t in values]
        target = f"  (target <= {targets[name]}x)" if name in targets else ""
        print(
            f"{name:30} {min(wall):8.3f} {statistics.median(wall):7.3f} {statistics.median(wall) / click_wall:7.1f}"
            f"   {min(cpu):7.3f} {statistics.median(cpu):7.3f} {statistics.median(cpu) / click_cpu:7.1f}{target}"
        )


if __name__ == "__main__":
    main()
