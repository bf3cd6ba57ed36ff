"""The `newsletter` program's entry point: Ctrl-C while it is still importing ends it quietly (exit 130)."""

from __future__ import annotations

import sys


def run() -> None:
    try:
        from newsletter.cli import run as main
    except KeyboardInterrupt:  # no command has started: nothing to say but that it was stopped
        sys.exit(130)
    main()
