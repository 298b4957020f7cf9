"""Environment readers for settings.

Each helper raises ``ImproperlyConfigured`` on a value it cannot use, so a typo in a
deployment stops the process at start-up instead of silently running with a default.
A secret may also come from a file: ``FOO_FILE=/run/secrets/foo`` is read when ``FOO``
itself is unset (Docker and Kubernetes secrets).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """The variable's value, or the content of ``<name>_FILE``, or ``default``."""
    value = os.environ.get(name)
    if value is not None:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from exc
    return default


def env_required(name: str) -> str:
    value = env_str(name)
    if not value:
        raise ImproperlyConfigured(f"{name} must be set")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = env_str(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = env_str(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = env_str(name, default) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_durations(name: str, default: str) -> list[int]:
    """A comma-separated list of durations such as ``"24h,72h"`` (units s, m, h, d), in
    seconds; an empty value gives an empty list."""
    value = env_str(name, default)
    seconds = []
    for item in (value or "").split(","):
        item = item.strip().lower()
        if not item:
            continue
        number, unit = item[:-1], item[-1:]
        if unit not in _DURATION_UNITS or not number.isdigit() or int(number) <= 0:
            raise ImproperlyConfigured(
                f"{name}={value!r}: each duration is a positive whole number with a unit "
                "(s, m, h or d), e.g. 24h,72h"
            )
        seconds.append(int(number) * _DURATION_UNITS[unit])
    return seconds


def env_prefixed(prefix: str) -> dict[str, str]:
    """Every ``<prefix><NAME>`` variable as ``{"<NAME>": value}``; ``<prefix><NAME>_FILE``
    is read for a ``<NAME>`` whose variable is unset, like every other secret."""
    names = {name.removesuffix("_FILE") for name in os.environ if name.startswith(prefix)}
    values = {name.removeprefix(prefix): env_str(name) for name in sorted(names)}
    return {name: value for name, value in values.items() if name and value is not None}
