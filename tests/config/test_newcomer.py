"""A newcomer's first run: `make test` and `make run` side by side, the port, and a console
that shows the links a person is looking for."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from django.conf import settings

from tests.config.processes import BASE_DIR, python, subprocess_env

_PATHS = """
import json
import django
from django.conf import settings
django.setup()
database = settings.DATABASES["default"]
options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
print(json.dumps({
    "var": str(settings.VAR_DIR),
    "files": [
        database["NAME"] if "{which}" == "run" else database["TEST"]["NAME"],
        str(settings.OUTBOX_DIR),
        settings.CELERY_BEAT_SCHEDULE_FILENAME,
        *(options[key] for key in ("data_folder_in", "processed_folder", "control_folder")),
    ],
}))
"""


def paths_of(which: str, module: str, tmp_path: Path) -> dict[str, object]:
    """The folders and files one of the two uses, on the embedded defaults."""
    env = subprocess_env(tmp_path, DATABASE_URL=None, REDIS_URL=None, SBOR_VAR_DIR=None)
    env.pop("SBOR_TEST_VAR_DIR", None)
    env["DJANGO_SETTINGS_MODULE"] = module
    result = python(env, _PATHS.replace("{which}", which))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def overlaps(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def test_make_test_and_make_run_share_no_file_or_folder(tmp_path):
    run = paths_of("run", "config.settings", tmp_path)
    tests = paths_of("test", "tests.settings", tmp_path)

    assert run["var"] == str(BASE_DIR / "var")
    assert tests["var"] == str(BASE_DIR / "var" / "test")
    shared = [
        (mine, theirs)
        for mine in map(Path, tests["files"])  # type: ignore[call-overload]
        for theirs in map(Path, run["files"])  # type: ignore[call-overload]
        if overlaps(mine, theirs)
    ]
    assert shared == []


def test_this_test_run_uses_its_own_folder():
    var = Path(settings.VAR_DIR)
    database = settings.DATABASES["default"]
    # On PostgreSQL and Redis (DATABASE_URL, REDIS_URL) there are no such files: the test
    # database is Django's test_<name>, and Redis needs a database number of its own.
    own = [settings.OUTBOX_DIR, settings.CELERY_BEAT_SCHEDULE_FILENAME]
    broker_folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in")
    if broker_folder:
        own.append(broker_folder)
    if database["ENGINE"].endswith("sqlite3"):
        own.append(database["TEST"]["NAME"])

    assert var != BASE_DIR / "var"
    assert not (BASE_DIR / "var").is_relative_to(var)
    for path in own:
        assert Path(str(path)).is_relative_to(var), path


def test_per_task_lines_are_off_but_task_warnings_and_errors_show():
    # "Task … received" and "Task … succeeded" for the count refresh every 5 seconds would
    # bury the outbox links on `make run`'s console.
    from celery.app.trace import logger as trace_logger
    from celery.beat import logger as beat_logger
    from celery.worker.strategy import logger as strategy_logger

    for logger in (trace_logger, strategy_logger, beat_logger):
        assert not logger.isEnabledFor(logging.INFO), logger.name
        assert logger.isEnabledFor(logging.WARNING), logger.name
    assert logging.getLogger("mailer.services").isEnabledFor(logging.INFO)


def test_the_procfile_serves_on_sbor_port_and_the_readme_says_how():
    procfile = (BASE_DIR / "Procfile.dev").read_text(encoding="utf-8")
    readme = (BASE_DIR / "README.md").read_text(encoding="utf-8")

    assert "${SBOR_PORT:-8000}" in procfile
    assert "SBOR_PORT=8001 make run" in readme
