"""Reading the deployment files: compose services, their commands and environment, queues."""

from __future__ import annotations

import re
from typing import Any

from tests.config.processes import BASE_DIR

APP_SERVICES = ["migrate", "web", "worker", "bulk", "periodic", "beat"]


_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:-|:\?)(?P<rest>(?:[^{}]|\$\{[^{}]*\})*))?\}")


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` (defaults may nest) and ``${NAME:?error}``."""

    def one(match: re.Match[str]) -> str:
        name, op, rest = match["name"], match["op"], match["rest"] or ""
        if environ.get(name):
            return environ[name]
        if op == ":?":
            raise ValueError(f"{name}: {rest}")
        return interpolate(rest, environ) if op == ":-" else ""

    return _VARIABLE.sub(one, value)


def container_env(service: dict[str, Any], environ: dict[str, str]) -> dict[str, str]:
    """The environment the service's container starts with, as Compose builds it."""
    return {name: interpolate(value, environ) for name, value in service["environment"].items()}


SECRETS = {
    "SECRET_KEY": "s" * 50,
    "SBOR_LOOKUP_KEY": "l" * 50,
    "SBOR_ENCRYPTION_KEYS": "YnVpbGQtb25seS1rZXktbm90LWEtc2VjcmV0LTAwMDA=",
    "SBOR_IP_HASH_KEY": "i" * 50,
}


# --- Dockerfile and pinned dependencies ---------------------------------------------------


def dockerfile() -> str:
    # Join continuation lines so that each instruction is one line.
    return (BASE_DIR / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
