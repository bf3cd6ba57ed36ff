"""Allows `python -m newsletter`."""

from newsletter.entry import run

run()
