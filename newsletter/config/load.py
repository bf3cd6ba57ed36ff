"""Loading: defaults < the TOML file < NEWSLETTER_* variables; the only module that reads os.environ."""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from newsletter.config.merge import ENV_PREFIX, ENVIRONMENT, PROVENANCE, merge
from newsletter.config.sections import DatabaseSettings, Settings
from newsletter.config.validate import validate
from newsletter.errors import ConfigError

log = logging.getLogger(__name__)
CONFIG_VARIABLE = "NEWSLETTER_CONFIG"  # the file to read: the one variable that is no setting
DEFAULT_CONFIG_FILE = "newsletter.toml"


def load_settings(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Layer defaults, the TOML file, then NEWSLETTER_* variables; validate once."""
    env = os.environ if env is None else env
    chosen = _choose_file(path, env)
    settings = Settings()
    if chosen is not None:
        settings = merge(settings, _beside(_read_toml(chosen), chosen.resolve().parent), origin=str(chosen))
        settings = dataclasses.replace(settings, source_file=str(chosen))
    overrides = _env_overrides(settings, env)
    settings = merge(settings, overrides, origin=ENVIRONMENT)
    settings = dataclasses.replace(settings, from_environment=frozenset(_keys(overrides)))
    if not settings.paths.cache:
        base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
        settings = settings.replace(paths={"cache": str(base / "newsletter")})
    if not settings.paths.state:
        base = Path(env["XDG_STATE_HOME"]) if env.get("XDG_STATE_HOME") else Path.home() / ".local" / "state"
        settings = settings.replace(paths={"state": str(base / "newsletter")})
    validate(settings)
    return settings


def _choose_file(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        return Path(path)
    if env.get(CONFIG_VARIABLE):
        return Path(env[CONFIG_VARIABLE])
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.exists() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


# Paths a config file may give: (section, key). Relative ones mean beside the file, not wherever the command
# runs: a cron job or a shell in another folder would otherwise work on a new, empty database.
_FILE_PATHS = (
    ("paths", "templates"),
    ("paths", "migrations"),
    ("paths", "cache"),
    ("paths", "state"),
    ("smtp", "ca_file"),
    ("inbox", "ca_file"),
    ("dkim", "private_key_file"),
)
_SQLITE = "sqlite:///"


def _beside(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The file's relative paths (and a relative SQLite database) made absolute against its folder."""
    for section, key in _FILE_PATHS:
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        value = table.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            table[key] = str(folder / value)
    if "database" not in data:
        data["database"] = {}
    database = data["database"]
    if isinstance(database, dict) and "url" not in database:
        # A file that names no database means the default one beside it, not one in every folder it is run from.
        database["url"] = DatabaseSettings().url
    if isinstance(database, dict) and isinstance(database.get("url"), str) and database["url"].startswith(_SQLITE):
        path, _, query = database["url"][len(_SQLITE) :].partition("?")
        if path and path != ":memory:" and not path.startswith("/"):
            # The folder percent-encoded: the URL's path is decoded again (a space, '?' or '%' in a folder name).
            database["url"] = f"{_SQLITE}{quote(str(folder), safe='/')}/{path}" + (f"?{query}" if query else "")
    return data


def _env_overrides(settings: Settings, env: Mapping[str, str]) -> dict[str, Any]:
    """Map NEWSLETTER_<SECTION>_<KEY> (nested: NEWSLETTER_SOURCES_HF_URL) onto the settings tree."""
    overrides: dict[str, Any] = {}
    known: set[str] = {CONFIG_VARIABLE}

    def walk(obj: Any, path: list[str], target: dict[str, Any]) -> None:
        for f in dataclasses.fields(obj):
            if f.name in PROVENANCE:
                continue
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                sub: dict[str, Any] = {}
                walk(value, [*path, f.name], sub)
                if sub:
                    target[f.name] = sub
                continue
            name = ENV_PREFIX + "_".join([*path, f.name]).upper()
            known.add(name)
            if name in env:
                target[f.name] = env[name]

    walk(settings, [], overrides)
    # A misspelt variable would set nothing without a word, as a misspelt key in the file would not.
    unknown = sorted(name for name in env if name.startswith(ENV_PREFIX) and name not in known)
    # Compared without the prefix that every name shares, which would make any two look alike.
    bare = {k.removeprefix(ENV_PREFIX): k for k in known} if unknown else {}
    for name in unknown:
        close = difflib.get_close_matches(name.removeprefix(ENV_PREFIX), bare, n=1)
        hint = f" (did you mean {bare[close[0]]}?)" if close else ""
        # A warning, not an error: a container platform sets NEWSLETTER_PORT and the like for a service of
        # that name, and every command would stop.
        log.warning("environment: %s is no setting%s: ignored", name, hint)
    return overrides


def _keys(tree: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys of a nested mapping of settings ('sources.hf.url')."""
    found = []
    for name, value in tree.items():
        found += _keys(value, f"{prefix}{name}.") if isinstance(value, dict) else [f"{prefix}{name}"]
    return found
