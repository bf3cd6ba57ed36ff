"""CSS inlined into an email template once, with premailer, and the sealed on-disk cache of the result."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from importlib.metadata import version
from pathlib import Path
from urllib.parse import unquote

from jinja2 import Environment

log = logging.getLogger(__name__)

CSS_SLOT = "{{ css|safe }}"

_PREINLINED: dict[str, str] = {}


def preinline_cached(env: Environment, name: str, css: str, cache_dir: Path, secret: str) -> str:
    """`preinline`, made once per template, stylesheet and premailer version: kept for this process and
    in `cache_dir` for the next ones (a missing or read-only folder only costs the time).

    The cached file is compiled as Jinja, so whoever could change it would run code here: the folder is
    private (0700) and the file carries a seal, an HMAC of its text keyed with `secret` and the hash of its
    sources; a file whose seal does not match is ignored and made again."""
    assert env.loader is not None
    source = env.loader.get_source(env, name)[0]
    key = hashlib.sha256("\0".join((version("premailer"), name, source, css)).encode()).hexdigest()[:32]
    if key in _PREINLINED:
        return _PREINLINED[key]
    # Named for the key that seals it too: several configs sharing one cache folder keep a file each instead
    # of taking each other's for tampering.
    signer = hmac.new(secret.encode(), b"template cache", hashlib.sha256).hexdigest()[:12]
    path = cache_dir / f"preinlined-{key}-{signer}.html.j2"
    inlined = _read_sealed(path, secret, key) if _private_folder(cache_dir) else None
    if inlined is None:
        inlined = preinline(env, name, css)
        try:
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(f"{_seal(secret, key, inlined)}\n{inlined}", encoding="utf-8")
            partial.replace(path)  # atomic: a concurrent reader sees all of it or nothing
        except OSError as exc:
            log.debug("template cache %s not written: %s", cache_dir, exc)
    _PREINLINED[key] = inlined
    return inlined


def _seal(secret: str, key: str, text: str) -> str:
    return hmac.new(f"{secret}\0{key}".encode(), text.encode("utf-8"), hashlib.sha256).hexdigest()


def _read_sealed(path: Path, secret: str, key: str) -> str | None:
    """The cached text if its seal matches, else None (missing, unreadable, or changed by someone)."""
    try:
        seal, _, text = path.read_text(encoding="utf-8").partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if hmac.compare_digest(seal.encode(), _seal(secret, key, text).encode()):
        return text
    log.warning("template cache %s does not match its seal: made again", path)
    return None


def _private_folder(folder: Path) -> bool:
    """Make the cache folder (0700) or tighten one of ours; False when it is not ours or cannot be made."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
        if info.st_uid != os.getuid():
            log.warning("template cache %s belongs to someone else: not used", folder)
            return False
        if info.st_mode & 0o077:
            folder.chmod(0o700)
    except OSError as exc:
        log.debug("template cache %s not usable: %s", folder, exc)
        return False
    return True


def preinline(env: Environment, name: str, css: str) -> str:
    """The template's source with its stylesheet inlined once, so no email pays for premailer.

    Jinja statements are wrapped in HTML comments so the HTML parser leaves them in place (a bare
    `{% for %}` between table rows would be moved), then unwrapped; URL-escaped `{{ }}` in attributes are
    restored. This holds because the template switches whole elements, never classes, and uses no
    position-dependent selectors: the inlined result equals inlining each rendered email (tested).
    """
    assert env.loader is not None
    source = env.loader.get_source(env, name)[0]
    if CSS_SLOT not in source:
        raise ValueError(f"template {name} has no {CSS_SLOT} for its stylesheet")
    source = source.replace(CSS_SLOT, css)
    source = re.sub(r"\{%.*?%\}", lambda m: f"<!--{m.group(0)}-->", source, flags=re.S)
    inlined = inline_css(source)
    inlined = re.sub(r"<!--(\{%.*?%\})-->", r"\1", inlined, flags=re.S)
    return re.sub(r"\{\{(.*?)\}\}", lambda m: "{{" + unquote(m.group(1)) + "}}", inlined)


def inline_css(html: str) -> str:
    """Inline the stylesheet (no network); @media and dark-mode rules stay in one <style>."""
    # Imported here: premailer (with lxml and cssutils) is a fifth of a command's start-up, and a send whose
    # inlined template is cached never calls it.
    from premailer import Premailer

    inlined: str = Premailer(
        html,
        allow_network=False,
        keep_style_tags=False,
        disable_leftover_css=False,
        remove_classes=False,
        strip_important=False,
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)
    return inlined
