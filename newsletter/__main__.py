"""Allows `python -m newsletter`."""

from newsletter.cli import run

run()
