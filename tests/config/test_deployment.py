"""The deployment files agree with each other and with the code they run."""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.urls import reverse
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from config.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parents[2]
APP_SERVICES = ["migrate", "web", "worker", "periodic", "beat"]
WORKERS = ["worker", "periodic"]
RESPAWN = ["python", "-m", "common.respawn"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def dev_services() -> dict[str, dict[str, Any]]:
    text = (BASE_DIR / "docker-compose.dev.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["services"]


def gunicorn_settings() -> dict[str, Any]:
    """config/gunicorn.py as gunicorn reads it, with none of its variables set."""
    names = ("SBOR_BIND", "SBOR_WEB_WORKERS")
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        return runpy.run_path(str(BASE_DIR / "config" / "gunicorn.py"))
    finally:
        os.environ.update(saved)


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

    assert queues["worker"] | queues["periodic"] == queues_used_by_the_code()
    assert queues == {"worker": {"default", "mail"}, "periodic": {"periodic"}}


def test_every_beat_task_goes_to_the_periodic_queue_and_email_to_the_mail_queue():
    for entry in celery_app.conf.beat_schedule.values():
        assert queue_of(entry["task"]) == "periodic", entry["task"]
    assert queue_of("mailer.tasks.outbox_send") == "mail"
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


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_reach_postgres_and_redis(services, name):
    env = services[name]["environment"]
    database = urlsplit(env["DATABASE_URL"])
    redis = urlsplit(env["REDIS_URL"])
    postgres_env = services["postgres"]["environment"]

    assert database.scheme in {"postgres", "postgresql"}
    assert database.hostname == "postgres"
    assert database.port == 5432
    assert database.username == postgres_env["POSTGRES_USER"]
    assert database.password == postgres_env["POSTGRES_PASSWORD"]
    assert database.path == f"/{postgres_env['POSTGRES_DB']}"
    assert redis.scheme == "redis"
    assert redis.hostname == "redis"
    assert redis.port == 6379


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_take_the_mail_settings_from_the_environment(services, name):
    service = services[name]
    default = container_env(service, SECRETS)
    chosen = container_env(
        service,
        SECRETS | {"SBOR_MAIL_BACKEND": "anymail", "SBOR_ANYMAIL_ESP": "postmark",
                   "EMAIL_HOST": "smtp.example.org", "EMAIL_HOST_PASSWORD": "pw"},
    )  # fmt: skip

    assert default["SBOR_MAIL_BACKEND"] == "smtp"
    assert chosen["SBOR_MAIL_BACKEND"] == "anymail"
    assert chosen["SBOR_ANYMAIL_ESP"] == "postmark"
    assert chosen["EMAIL_HOST"] == "smtp.example.org"
    assert chosen["EMAIL_HOST_PASSWORD"] == "pw"
    # An ESP's ANYMAIL_* settings have names of their own: they come in whole from .env.
    assert {"path": ".env", "required": False} in service["env_file"]
    assert "mailpit" not in str(default)
    assert "EMAIL_USE_TLS" not in default  # production's default (on) applies


_MAIL_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
values = {"backend": settings.EMAIL_BACKEND, "anymail": getattr(settings, "ANYMAIL", None)}
print(json.dumps(values))
"""


def test_anymail_from_the_compose_environment_configures_the_esp(services, tmp_path):
    """What the README says works: SBOR_MAIL_BACKEND=anymail, SBOR_ANYMAIL_ESP, ANYMAIL_*."""
    from tests.config.test_settings import python, subprocess_env

    operator = SECRETS | {"SBOR_MAIL_BACKEND": "anymail", "SBOR_ANYMAIL_ESP": "postmark"}
    env = subprocess_env(tmp_path) | container_env(services["worker"], operator)
    env["ANYMAIL_POSTMARK_SERVER_TOKEN"] = "token-from-dot-env"  # from env_file
    env.pop("REDIS_URL", None)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"

    result = python(env, _MAIL_SETTINGS)

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["backend"] == "anymail.backends.postmark.EmailBackend"
    assert values["anymail"] == {"POSTMARK_SERVER_TOKEN": "token-from-dot-env"}


def test_mailpit_is_only_in_the_development_override(services, dev_services):
    assert "mailpit" not in services
    assert "8025" in " ".join(dev_services["mailpit"]["ports"])
    for name in APP_SERVICES:
        env = dev_services[name]["environment"]
        assert env["EMAIL_HOST"] == "mailpit", name
        assert env["EMAIL_PORT"] == "1025", name
        assert env["EMAIL_USE_TLS"] == "0", name
    # The container port Mailpit's SMTP server listens on is the one the apps use.
    assert any(port.split(":")[-1] == "1025" for port in dev_services["mailpit"]["ports"])


def test_secrets_in_dot_env_stay_out_of_the_image_and_the_repository():
    dockerignore = (BASE_DIR / ".dockerignore").read_text(encoding="utf-8").splitlines()
    gitignore = (BASE_DIR / ".gitignore").read_text(encoding="utf-8").splitlines()

    assert ".env" in dockerignore
    assert ".env" in gitignore


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_app_services_wait_for_the_migrations(services, name):
    depends_on = services[name]["depends_on"]

    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}


def test_migrations_wait_for_healthy_postgres_and_redis(services):
    depends_on = services["migrate"]["depends_on"]

    assert depends_on["postgres"] == {"condition": "service_healthy"}
    assert depends_on["redis"] == {"condition": "service_healthy"}
    assert "healthcheck" in services["postgres"]
    assert "healthcheck" in services["redis"]


def test_every_image_has_a_tag(services):
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: image {image!r} has no tag"
        assert "/" not in tag, f"{name}: image {image!r} has no tag"
        assert re.fullmatch(r"[\w][\w.-]{0,127}", tag), f"{name}: bad tag in {image!r}"


def test_data_is_kept_in_named_volumes(compose, services):
    declared = set(compose["volumes"])
    used = {
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if not volume.startswith("./")  # a file of the repository, such as the Caddyfile
    }

    assert {"postgres-data", "redis-data", "caddy-data"} <= used
    assert used <= declared


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


# --- Dockerfile and pinned dependencies ---------------------------------------------------


def dockerfile() -> str:
    # Join continuation lines so that each instruction is one line.
    return (BASE_DIR / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")


def test_the_image_installs_from_the_lock_file():
    text = dockerfile()

    assert re.search(r"^COPY requirements\.lock ", text, re.MULTILINE)
    assert re.search(r"^RUN pip install .*-r requirements\.lock", text, re.MULTILINE)


def test_the_image_runs_as_an_unprivileged_user_and_serves_with_gunicorn():
    text = dockerfile()

    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert re.search(r'^CMD \["gunicorn", "config\.wsgi:application"', text, re.MULTILINE)


def test_the_image_uses_the_python_version_the_project_requires():
    requires = tomllib.loads((BASE_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "requires-python"
    ]
    match = re.search(r"^FROM python:(\d+\.\d+)", dockerfile(), re.MULTILINE)

    assert match is not None
    assert requires.startswith(f">={match.group(1)}")


def lock_pins(name: str = "requirements.lock") -> dict[str, str]:
    """Pins of a lock file, following its ``-r`` includes."""
    pins: dict[str, str] = {}
    for line in (BASE_DIR / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            included = lock_pins(line.removeprefix("-r ").strip())
            assert not included.keys() & pins.keys(), "a package is pinned twice"
            pins |= included
            continue
        name, separator, version = line.partition("==")
        assert separator and version, f"not pinned with ==: {line!r}"
        canonical = canonicalize_name(name)
        assert canonical not in pins, f"{name} is pinned twice"
        pins[canonical] = version
    return pins


def project() -> dict[str, Any]:
    return tomllib.loads((BASE_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_every_runtime_dependency_is_pinned_in_the_lock_file():
    pins = lock_pins()
    requirements = [Requirement(spec) for spec in project()["dependencies"]]

    missing = [req.name for req in requirements if canonicalize_name(req.name) not in pins]
    assert missing == []


def test_every_pinned_runtime_dependency_satisfies_its_range():
    pins = lock_pins()
    for spec in project()["dependencies"]:
        requirement = Requirement(spec)
        version = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (spec, version)


def test_every_development_dependency_is_pinned_in_the_dev_lock_file():
    pins = lock_pins("requirements-dev.lock")
    requirements = [Requirement(spec) for spec in project()["optional-dependencies"]["dev"]]

    missing = [req.name for req in requirements if canonicalize_name(req.name) not in pins]
    assert missing == []


def test_the_production_image_gets_no_development_tools():
    runtime = lock_pins()
    for spec in project()["optional-dependencies"]["dev"]:
        name = canonicalize_name(Requirement(spec).name)
        if name == "requests":
            continue  # also a runtime dependency, through django-anymail
        assert name not in runtime, f"{name} is a development tool but in requirements.lock"


def test_the_make_targets_install_the_dev_lock_which_includes_the_runtime_lock():
    makefile = (BASE_DIR / "Makefile").read_text(encoding="utf-8")
    assert "-r requirements-dev.lock" in makefile
    dev_lock = (BASE_DIR / "requirements-dev.lock").read_text(encoding="utf-8")
    assert "-r requirements.lock" in dev_lock.splitlines()


def test_the_packages_that_extras_pull_in_are_pinned_too():
    """``celery[redis]`` needs redis, ``psycopg[binary]`` needs psycopg-binary, and so on."""
    pins = lock_pins()
    missing = []
    for spec in project()["dependencies"]:
        requirement = Requirement(spec)
        for extra in requirement.extras:
            environment = {key: str(value) for key, value in default_environment().items()}
            environment["extra"] = extra
            for dependency in metadata.requires(requirement.name) or []:
                pulled = Requirement(dependency)
                if pulled.marker is None or not pulled.marker.evaluate(environment):
                    continue
                if "extra" not in str(pulled.marker):
                    continue  # an unconditional dependency, pinned or not by pip freeze anyway
                if canonicalize_name(pulled.name) not in pins:
                    missing.append(f"{requirement.name}[{extra}] -> {pulled.name}")
    assert missing == []
