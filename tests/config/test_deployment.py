"""None"""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
from typing import Any

import pytest
from django.urls import reverse

from config.celery import app as celery_app
from tests.config.deployment import APP_SERVICES, SECRETS, container_env, dockerfile, interpolate
from tests.config.processes import BASE_DIR

WORKERS = ["worker", "bulk", "periodic"]
RESPAWN = ["python", "-m", "common.respawn"]


def gunicorn_settings() -> dict[str, Any]:
    """config/gunicorn.py as gunicorn reads it, with none of its variables set."""
    names = ("SBOR_BIND", "SBOR_WEB_WORKERS")
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        return runpy.run_path(str(BASE_DIR / "config" / "gunicorn.py"))
    finally:
        os.environ.update(saved)


def command_of(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def option(argv: list[str], *names: str) -> str:
    """The value of ``--name value``, ``--name=value`` or ``-Q value`` in a command line."""
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name:
                return argv[index + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    raise AssertionError(f"none of {names} in {argv}")


def queues_used_by_the_code() -> set[str]:
    """Every queue a task can be sent to: the default one, and each one our tasks (and
    beat's entries) are routed to."""
    celery_app.loader.import_default_modules()
    names = {name for name in celery_app.tasks if not name.startswith("celery.")}
    names |= {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    return {celery_app.conf.task_default_queue} | {queue_of(name) for name in names}


def queue_of(task_name: str) -> str:
    route = celery_app.amqp.router.route({}, task_name)
    return str(route["queue"].name)


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (BASE_DIR / "Procfile.dev").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = shlex.split(command)
    return entries


# --- docker-compose.yml -------------------------------------------------------------------


def test_compose_defines_every_service(services):
    assert {"postgres", "redis", "migrate", "web", "worker", "periodic", "beat", "proxy"} <= set(
        services
    )


def test_yaml_anchors_are_resolved_into_each_app_service(compose, services):
    shared_env = compose["x-sbor-env"]
    for name in APP_SERVICES:
        service = services[name]
        assert "<<" not in service, name
        assert service["environment"] == shared_env, name
        assert service["image"] == "sbor:latest", name
        assert service["build"] == ".", name


def test_web_runs_gunicorn_on_the_wsgi_application_with_the_image_s_settings(services):
    argv = command_of(services["web"])
    image_cmd = re.search(r"^CMD (.*)$", dockerfile(), re.MULTILINE)

    assert argv[0] == "gunicorn"
    assert "config.wsgi:application" in argv
    assert option(argv, "--config", "-c") == "config/gunicorn.py"
    assert image_cmd is not None
    assert json.loads(image_cmd.group(1)) == argv
    assert gunicorn_settings()["bind"] == "0.0.0.0:8000"


def test_web_keeps_no_access_log_and_scrubs_its_error_log(services):
    # An access log would hold every signer's IP address and confirmation link.
    argv = command_of(services["web"])
    settings = gunicorn_settings()
    error_handlers = settings["logconfig_dict"]["handlers"].values()

    assert not any(arg.startswith("--access-log") for arg in argv)
    assert settings["accesslog"] is None
    assert all("scrub_tokens" in handler["filters"] for handler in error_handlers)
    assert settings["logconfig_dict"]["filters"]["scrub_tokens"]["()"] == (
        "common.logging.TokenScrubFilter"
    )


def test_only_the_proxy_is_published(services, dev_services):
    published = {name for name, service in services.items() if service.get("ports")}

    assert published == {"proxy"}
    assert {port.split(":")[-1] for port in services["proxy"]["ports"]} >= {"80", "443"}
    # The development override publishes Mailpit on this machine only.
    for name, service in dev_services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} to every interface"


def test_the_proxy_is_caddy_in_front_of_web_with_tls_for_the_domain(services):
    proxy = services["proxy"]
    caddyfile = (BASE_DIR / "Caddyfile").read_text(encoding="utf-8")
    directives = [line.split("#")[0].strip() for line in caddyfile.splitlines()]

    assert proxy["image"].startswith("caddy:")
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert "reverse_proxy web:8000" in directives
    # The site address is the domain: Caddy then gets and renews its certificate itself.
    assert "{$SBOR_SITE_ADDRESS}" in directives
    address = proxy["environment"]["SBOR_SITE_ADDRESS"]
    assert interpolate(address, {"SBOR_DOMAIN": "sign.example.org"}) == "sign.example.org"
    assert interpolate(address, {}) == "localhost"  # HTTPS with Caddy's local authority
    assert proxy["depends_on"]["web"] == {"condition": "service_healthy"}
    assert not any(line.startswith("log") for line in directives)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_app_trusts_exactly_the_one_proxy_in_front_of_it(services, name):
    env = container_env(services[name], SECRETS)

    assert env["SBOR_TRUSTED_PROXY_COUNT"] == "1"
    assert "SECURE_SSL_REDIRECT" not in env  # on, as in any production
    assert env["ALLOWED_HOSTS"] == "localhost"
    assert env["SBOR_SITE_URL"] == "https://localhost"
    domain = container_env(services[name], SECRETS | {"SBOR_DOMAIN": "sign.example.org"})
    assert domain["ALLOWED_HOSTS"] == "sign.example.org"
    assert domain["SBOR_SITE_URL"] == "https://sign.example.org"


def test_the_web_health_check_calls_the_health_url(services):
    [*_, probe] = services["web"]["healthcheck"]["test"]

    assert f"http://127.0.0.1:8000{reverse('healthz')}" in probe


def test_the_workers_consume_every_queue_the_code_routes_tasks_to(services):
    queues = {}
    for name in WORKERS:
        argv = command_of(services[name])
        assert argv[:4] == ["celery", "-A", "config", "worker"]
        queues[name] = set(option(argv, "--queues", "-Q").split(","))

    assert set().union(*queues.values()) == queues_used_by_the_code()
    assert queues == {"worker": {"default", "mail"}, "bulk": {"bulk"}, "periodic": {"periodic"}}


def test_every_beat_task_goes_to_the_periodic_queue_and_email_to_the_mail_queue():
    for entry in celery_app.conf.beat_schedule.values():
        assert queue_of(entry["task"]) == "periodic", entry["task"]
    assert queue_of("mailer.tasks.outbox_send") == "mail"
    assert queue_of("mailer.tasks.mailing_send") == "bulk"
    assert queue_of("petitions.tasks.not_periodic_example") == "default"


@pytest.mark.parametrize("name", [*WORKERS, "beat"])
def test_workers_and_beat_are_restarted_when_they_exit(services, name):
    assert services[name]["restart"] == "unless-stopped"


def test_beat_runs_the_celery_scheduler(services):
    argv = command_of(services["beat"])

    assert argv[:4] == ["celery", "-A", "config", "beat"]
    # The schedule file lives in the image's writable data directory.
    assert option(argv, "--schedule", "-s").startswith("/var/lib/sbor/")


def test_migrate_runs_the_migrations_once(services):
    argv = command_of(services["migrate"])

    assert "python manage.py migrate --noinput" in " ".join(argv)
    assert services["migrate"]["restart"] == "no"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_in_production_mode(services, name):
    env = services[name]["environment"]

    assert env["SBOR_PRODUCTION"] == "1"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert env["SBOR_LOOKUP_KEY"].startswith("${SBOR_LOOKUP_KEY:?")
    assert "SBOR_DEBUG" not in env
    # Compose passes environment values as strings; a bare number or bool would be a trap.
    assert all(isinstance(value, str) for value in env.values())


# --- Procfile.dev -------------------------------------------------------------------------


def test_the_procfile_starts_web_both_workers_and_beat_under_a_supervisor_that_restarts():
    entries = procfile()

    assert set(entries) == {"web", *WORKERS, "beat"}
    assert entries["web"][:3] == ["python", "manage.py", "runserver"]
    # honcho restarts nothing: common.respawn starts them again when they exit.
    for name in WORKERS:
        assert entries[name][:7] == [*RESPAWN, "celery", "-A", "config", "worker"], name
    assert entries["beat"][:7] == [*RESPAWN, "celery", "-A", "config", "beat"]


@pytest.mark.parametrize("name", WORKERS)
def test_the_procfile_workers_consume_the_same_queues_as_the_compose_workers(services, name):
    procfile_queues = set(option(procfile()[name], "--queues", "-Q").split(","))
    compose_queues = set(option(command_of(services[name]), "--queues", "-Q").split(","))

    assert procfile_queues == compose_queues
