"""A newcomer's first run: `make test` and `make run` side by side, the port, and a console
that shows the links a person is looking for."""

from __future__ import annotations

import email
import email.policy
import io
import json
import logging
import re
import shlex
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from campaigns.models import Invitation, Organisation, Role
from petitions.demo.loader import ORGANISATION_SLUG
from tests.config.processes import BASE_DIR, python, subprocess_env
from tests.factories import member_create, tasks_run_on_commit

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


# --- Into the workspace -------------------------------------------------------------------

README = (BASE_DIR / "README.md").read_text(encoding="utf-8")
MAKE_RUN_OWNER = "owner@example.org"


def load_demo(*args: str) -> str:
    said = io.StringIO()
    with tasks_run_on_commit():
        call_command("load_demo", *args, stdout=said)
    return said.getvalue()


@pytest.fixture
def local_outbox(db: None, settings: Any, tmp_path: Path) -> Path:
    """Mail written to files in a folder, as on `make run` (and a database)."""
    settings.EMAIL_BACKEND = "mailer.backends.LocalOutboxBackend"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.SITE_URL = "http://127.0.0.1:8000"
    return tmp_path / "outbox"


def mailed(folder: Path) -> list[EmailMessage]:
    messages = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def test_make_run_invites_the_demo_organisations_first_owner(local_outbox: Path) -> None:
    makefile = (BASE_DIR / "Makefile").read_text(encoding="utf-8")
    assert f"manage.py load_demo --invite-owner {MAKE_RUN_OWNER}\n" in makefile

    said = load_demo("--invite-owner", MAKE_RUN_OWNER)

    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == (MAKE_RUN_OWNER, Role.OWNER)
    assert invitation.organisation.slug == ORGANISATION_SLUG
    assert "Workspace: http://127.0.0.1:8000/workspace/\n" in said
    assert f"{MAKE_RUN_OWNER} is invited to own Russia Behind Bars" in said
    assert f"Its email is in {local_outbox}/" in said
    [message] = mailed(local_outbox)
    assert message["To"] == MAKE_RUN_OWNER
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert "http://127.0.0.1:8000/workspace/invitations/" in str(text.get_content())


def test_the_invitation_is_made_once_again_when_it_expired_and_never_once_someone_joined(
    local_outbox: Path,
) -> None:
    load_demo("--invite-owner", MAKE_RUN_OWNER)

    again = load_demo("--invite-owner", MAKE_RUN_OWNER)
    assert f"{MAKE_RUN_OWNER} was invited to own Russia Behind Bars" in again
    assert Invitation.objects.count() == 1
    assert len(mailed(local_outbox)) == 1

    # A week later the link has expired: the next `make run` sends a new one.
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    later = load_demo("--invite-owner", MAKE_RUN_OWNER)
    assert f"{MAKE_RUN_OWNER} is invited to own Russia Behind Bars" in later
    assert Invitation.objects.count() == 2
    assert len(mailed(local_outbox)) == 2

    member_create(organisation=Organisation.objects.get(slug=ORGANISATION_SLUG), role="owner")
    Invitation.objects.all().delete()
    joined = load_demo("--invite-owner", MAKE_RUN_OWNER)
    assert "Sign in there as a member of the demo organisation." in joined
    assert not Invitation.objects.exists()


def test_a_deployment_loading_the_demo_invites_nobody(local_outbox: Path) -> None:
    # docker-compose's migrate service runs load_demo, without the option, only when
    # SBOR_LOAD_DEMO=1 (off by default: the demo campaign is public).
    compose = (BASE_DIR / "docker-compose.yml").read_text(encoding="utf-8")
    assert 'if [ \\"$$SBOR_LOAD_DEMO\\" = 1 ]; then python manage.py load_demo; fi"]' in compose
    assert "SBOR_LOAD_DEMO: ${SBOR_LOAD_DEMO:-0}" in compose

    said = load_demo()

    assert said.strip().splitlines() == ["Demo campaign ready: /c/russia-behind-bars/"]
    assert not Invitation.objects.exists()
    assert mailed(local_outbox) == []


def test_the_readme_says_how_to_get_in_and_its_command_works(local_outbox: Path) -> None:
    section = README.split("## The organisers' workspace", 1)[1].split("\n## ", 1)[0]
    for words in ("owner@example.org", "var/outbox/", "/workspace/", "two-factor", "RIGHTS"):
        assert words in section, words
    for role in Role:
        assert f"\n| {role.value} | " in section, role
    [command] = re.findall(
        r"^\.venv/bin/python manage\.py (organisation_invite .+)$", section, re.M
    )
    for picture in re.findall(r"\]\((docs/screenshots/[\w-]+\.png)\)", section):
        assert (BASE_DIR / picture).is_file(), picture

    load_demo()
    said = io.StringIO()
    with tasks_run_on_commit():
        call_command(*shlex.split(command), stdout=said)

    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == ("you@example.org", Role.OWNER)
    assert [message["To"] for message in mailed(local_outbox)] == ["you@example.org"]
