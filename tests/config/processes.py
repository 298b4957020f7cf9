"""Running Sbor's settings in a fresh process with a chosen environment."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parents[2]


# --- Settings in a fresh process ----------------------------------------------------------

# Variables the settings read; the subprocess starts without them unless a test sets them.
_SETTINGS_VARIABLES = {
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DEFAULT_FROM_EMAIL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
}
_SETTINGS_PREFIXES = ("SBOR_", "SECURE_", "EMAIL_", "ANYMAIL_")


def random_secret(length: int = 64) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def subprocess_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """This process's environment minus every Sbor setting, plus ``overrides`` (None: unset).

    DATABASE_URL and REDIS_URL are kept, so the suite's PostgreSQL run checks them too.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not (
            name in _SETTINGS_VARIABLES
            or name.removesuffix("_FILE") in _SETTINGS_VARIABLES
            or name.startswith(_SETTINGS_PREFIXES)
        )
    }
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["SBOR_VAR_DIR"] = str(tmp_path)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    required = {
        "SBOR_PRODUCTION": "1",
        "SECRET_KEY": random_secret(),
        "SBOR_LOOKUP_KEY": random_secret(),
        "ALLOWED_HOSTS": "example.org",
        "SBOR_SITE_URL": "https://example.org",
        "SBOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SBOR_IP_HASH_KEY": random_secret(),
    }
    return subprocess_env(tmp_path, **(required | overrides))


def _run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """A fresh Python process in the project folder: settings are read anew from ``env``."""
    return subprocess.run(
        [sys.executable, *argv],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _run(env, "manage.py", *args)


def python(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return _run(env, "-c", code)
