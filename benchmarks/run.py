"""`make bench`: every benchmark, each printing its measurements side by side as ratios within one run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import delivery, ingest, memory, render, returns, search, selection, snapshot_import, startup

if __name__ == "__main__":
    startup.main()
    render.main()
    ingest.main()
    snapshot_import.main()
    selection.main()
    search.main()
    delivery.main()
    returns.main()
    memory.main()  # the slowest: 110,000 real sends
