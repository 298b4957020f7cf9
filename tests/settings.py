"""Settings for the test suite: the project's own, with a data folder of its own.

`make run` keeps its SQLite database, filesystem broker and outbox in var/; the tests keep
theirs in var/test/ (or SBOR_TEST_VAR_DIR), so that `make test` can run while `make run` is
serving, and never empties its broker or reads its emails. Set before config.settings is
read, and inherited by every process a test starts (the e2e worker, the settings checks).
"""

from __future__ import annotations

import os
from pathlib import Path

# Not setdefault: an SBOR_VAR_DIR exported for `make run` must not lead the tests into it.
os.environ["SBOR_VAR_DIR"] = os.environ.get("SBOR_TEST_VAR_DIR") or str(
    Path(__file__).resolve().parents[1] / "var" / "test"
)

from config.settings import *  # noqa: F403

# Argon2 costs ~0.1 s a hash by design; the suite creates hundreds of accounts. The project's
# own setting (Argon2 first) is checked in tests/workspace/test_accounts.py.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
