"""What docker-compose gives the app services: settings, secrets, order of start, volumes."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from tests.config.deployment import APP_SERVICES, SECRETS, container_env
from tests.config.processes import BASE_DIR


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
    from tests.config.processes import python, subprocess_env

    operator = SECRETS | {"SBOR_MAIL_BACKEND": "anymail", "SBOR_ANYMAIL_ESP": "postmark"}
    env = subprocess_env(tmp_path) | container_env(services["worker"], operator)
    env["ANYMAIL_POSTMARK_SERVER_TOKEN"] = "token-from-dot-env"  # from env_file
    env["SBOR_WEBHOOK_SECRETS"] = "postmark:webhook-password-from-dot-env"  # from env_file
    env.pop("REDIS_URL", None)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"

    result = python(env, _MAIL_SETTINGS)

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["backend"] == "anymail.backends.postmark.EmailBackend"
    assert values["anymail"] == {
        "POSTMARK_SERVER_TOKEN": "token-from-dot-env",
        "WEBHOOK_SECRET": ["postmark:webhook-password-from-dot-env"],
    }


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
