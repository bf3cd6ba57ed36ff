"""Layering keys from TOML, the environment or flags onto a settings dataclass, each checked.

Every key and type is checked; strings from the environment turned into the field's type."""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from newsletter.errors import ConfigError

# Fields of Settings that say where the settings came from: no file or variable sets them.
PROVENANCE = ("source_file", "from_environment")

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Settings = TypeVar("_Settings", bound="DataclassInstance")
ENV_PREFIX = "NEWSLETTER_"
ENVIRONMENT = "environment"  # the origin of values from NEWSLETTER_ variables: a message names the variable


def merge(obj: _Settings, values: Mapping[str, Any], origin: str, prefix: str = "") -> _Settings:
    """Return obj (a settings dataclass) with values applied, checking every key and type."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{origin}: [{prefix.rstrip('.')}] must be a table")
    known = {f.name: f for f in dataclasses.fields(obj) if f.name not in PROVENANCE}
    hints = typing.get_type_hints(type(obj))
    changes: dict[str, Any] = {}
    for key, value in values.items():
        where = f"{prefix}{key}"
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            raise ConfigError(f"{origin}: unknown key '{where}'{hint}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current) and not isinstance(current, type):
            changes[key] = merge(current, value, origin, prefix=f"{where}.")
        else:
            changes[key] = coerce(value, hints[key], origin, where)
    return dataclasses.replace(obj, **changes)


def coerce(value: Any, kind: Any, origin: str, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        # A database URL may hold a password too.
        shown = "(hidden)" if any(word in where for word in ("password", "secret", "database.url")) else repr(value)
        named = ENV_PREFIX + where.replace(".", "_").upper() if origin == ENVIRONMENT else origin
        return ConfigError(f"{named}: '{where}' must be {expected}, got {shown}")

    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        }:
            return value.strip().lower() in {"1", "true", "yes", "on"}
        raise bad("true or false")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        raise bad("a whole number")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise bad("a number")
    if kind is str:
        if isinstance(value, str):
            return value
        raise bad("a string")
    if kind == tuple[tuple[str, str], ...]:  # a TOML table of strings; in the environment "a=x, b=y"
        if isinstance(value, str):
            pairs = [part.partition("=") for part in value.split(",") if part.strip()]
            if all(sep for _key, sep, _value in pairs):
                value = {key.strip(): item.strip() for key, _sep, item in pairs}
        if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return tuple((k.strip().lower(), v) for k, v in value.items())
        raise bad('a table of strings (in the environment: "key=value, key=value")')
    if typing.get_origin(kind) is tuple:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise bad("a list of strings")
    raise TypeError(f"settings field {where} has an unsupported type {kind}")
