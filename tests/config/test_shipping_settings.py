"""Settings a newcomer and an operator meet first: the port of `make run`, and mail over TLS
in production."""

from __future__ import annotations

import json

import pytest

from tests.config.processes import production_env, python, subprocess_env

_MAIL = """
import json
import django
from django.conf import settings
django.setup()
print(json.dumps({
    name: getattr(settings, name, None)
    for name in ["SITE_URL", "CSRF_TRUSTED_ORIGINS", "EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_PORT"]
}))
"""


def values_of(env: dict[str, str]) -> dict[str, object]:
    result = python(env, _MAIL)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_emailed_links_follow_the_port_make_run_serves_on(tmp_path):
    values = values_of(subprocess_env(tmp_path, SBOR_PORT="8123"))

    assert values["SITE_URL"] == "http://127.0.0.1:8123"
    assert values["CSRF_TRUSTED_ORIGINS"] == ["http://127.0.0.1:8123"]


def test_the_default_port_is_8000_and_an_explicit_site_url_wins(tmp_path):
    assert values_of(subprocess_env(tmp_path))["SITE_URL"] == "http://127.0.0.1:8000"
    chosen = subprocess_env(tmp_path, SBOR_PORT="8123", SBOR_SITE_URL="http://sbor.test:9000")
    assert values_of(chosen)["SITE_URL"] == "http://sbor.test:9000"


@pytest.mark.parametrize("port", ["0", "65536", "eighty"])
def test_a_port_that_is_not_one_stops_the_start(tmp_path, port):
    result = python(subprocess_env(tmp_path, SBOR_PORT=port), _MAIL)

    assert result.returncode != 0
    assert "SBOR_PORT" in result.stderr


def test_production_smtp_uses_starttls_on_the_submission_port_by_default(tmp_path):
    values = values_of(production_env(tmp_path, SBOR_MAIL_BACKEND="smtp"))

    assert values["EMAIL_USE_TLS"] is True
    assert values["EMAIL_USE_SSL"] is False
    assert values["EMAIL_PORT"] == 587


def test_production_smtp_can_use_implicit_tls_or_a_plain_local_relay(tmp_path):
    ssl = values_of(production_env(tmp_path, SBOR_MAIL_BACKEND="smtp", EMAIL_USE_SSL="1"))
    plain = values_of(
        production_env(tmp_path, SBOR_MAIL_BACKEND="smtp", EMAIL_USE_TLS="0", EMAIL_PORT="25")
    )

    assert (ssl["EMAIL_USE_TLS"], ssl["EMAIL_USE_SSL"], ssl["EMAIL_PORT"]) == (False, True, 465)
    assert (plain["EMAIL_USE_TLS"], plain["EMAIL_PORT"]) == (False, 25)


def test_tls_and_ssl_together_stop_the_start(tmp_path):
    env = production_env(tmp_path, SBOR_MAIL_BACKEND="smtp", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")

    result = python(env, _MAIL)

    assert result.returncode != 0
    assert "EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on" in result.stderr


def test_development_smtp_stays_plain_unless_asked(tmp_path):
    values = values_of(subprocess_env(tmp_path, SBOR_MAIL_BACKEND="smtp"))

    assert values["EMAIL_USE_TLS"] is False
    assert values["EMAIL_PORT"] == 25
