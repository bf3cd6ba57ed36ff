"""Where the bundled folders (templates, migrations) are: inside the installed package, else the repository."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def bundled(name: str) -> Path:
    """The folder `name`: a wheel carries it inside the package; an editable install (or a clone) keeps it at
    the repository's top level."""
    packaged = files("newsletter") / name
    if packaged.is_dir():
        return Path(str(packaged))
    return REPOSITORY / name
