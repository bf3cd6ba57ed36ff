"""A PNG of an HTML file as a reader sees it, taken by headless Chromium (light or dark, any width)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from newsletter.errors import InputError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Without these, headless Chromium reaches out to Google's services at start (blocked here, and slow).
QUIET = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--hide-scrollbars",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def screenshot(html: Path, png: Path, width: int = 600, height: int = 2400, dark: bool = False) -> Path:
    """Render `html` at `width` px (in dark mode if asked) into `png`; InputError when no Chromium is found."""
    binary = browser()
    if binary is None:
        raise InputError("headless Chromium not found: install Debian's `chromium` for --png")
    if not png.resolve().parent.is_dir():
        raise InputError(f"cannot write {png}: its folder {png.resolve().parent} does not exist")
    with tempfile.TemporaryDirectory() as profile:
        args = [
            binary,
            *QUIET,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png.resolve()}",
        ]
        if dark:
            args.append("--force-dark-mode")
        done = subprocess.run([*args, html.resolve().as_uri()], capture_output=True, timeout=60)
    if done.returncode != 0 or not png.exists():
        raise InputError(f"Chromium could not render {html}: exit {done.returncode}")
    if png.stat().st_size == 0:  # Chromium says nothing when the disk is full: it leaves an empty file
        png.unlink()
        raise InputError(f"cannot write {png}: Chromium wrote nothing (is the disk full?)")
    return png
