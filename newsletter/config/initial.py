"""`newsletter init`: a first config file with a fresh secret key, readable by its owner only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from newsletter.errors import ConfigError

INITIAL_CONFIG = """\
# Written by `newsletter init`. Every key is documented in config.example.toml; any key can also come
# from the environment as NEWSLETTER_<SECTION>_<KEY>, which wins over this file.

[web]
# Public URL of `newsletter serve` (the links in every mail point here).
base_url = "http://localhost:8000"
# Signs every link and Message-ID; keep it secret (this file is mode 0600). Changing it kills old links.
secret_key = "{key}"

[smtp]
host = "localhost"
port = 1025

[sender]
from_address = "papers@example.com"
postal_address = "Daily Papers, 1 Example Street, Example City"
"""


def write_initial(path: Path) -> None:
    """A new config file with a fresh random secret key, readable by its owner only; never overwrites."""
    text = INITIAL_CONFIG.format(key=secrets.token_urlsafe(32))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} exists already: not overwritten (choose another with --path)") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:  # a full disk: no empty file left that a second try would refuse to overwrite
        path.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
