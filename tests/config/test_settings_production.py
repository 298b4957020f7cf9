"""The settings in a fresh process: production refuses bad values, turns security on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.config.processes import manage, production_env, python, random_secret, subprocess_env


def test_the_defaults_pass_the_checks(tmp_path):
    result = manage(subprocess_env(tmp_path), "check")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_a_secret_key_does_not_start(tmp_path):
    result = manage(production_env(tmp_path, SECRET_KEY=None), "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": "too-short-" * 3}, "SECRET_KEY must be at least 32 characters"),
        ({"SBOR_LOOKUP_KEY": None}, "SBOR_LOOKUP_KEY must be set"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must list the site's host names"),
        ({"ALLOWED_HOSTS": " , "}, "ALLOWED_HOSTS must list the site's host names"),
        ({"SBOR_SITE_URL": None}, "SBOR_SITE_URL must be set"),
        ({"SBOR_SITE_URL": "example.org"}, "must start with http:// or https://"),
        ({"SBOR_SITE_URL": "http://example.org"}, "must start with https:// in production"),
        ({"SBOR_DEBUG": "1"}, "SBOR_DEBUG cannot be on when SBOR_PRODUCTION is on"),
        ({"SBOR_PRODUCTION": "maybe"}, "SBOR_PRODUCTION='maybe' is not a boolean"),
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS='a year' is not an integer"),
        ({"SBOR_MAIL_BACKEND": "anymail"}, "SBOR_ANYMAIL_ESP must be set"),
        ({"EMAIL_PORT": "0"}, "EMAIL_PORT=0 must be at least 1"),
    ],
    ids=[
        "short-secret-key",
        "no-lookup-key",
        "no-allowed-hosts",
        "blank-allowed-hosts",
        "no-site-url",
        "site-url-without-scheme",
        "site-url-over-http",
        "debug-in-production",
        "bad-production-flag",
        "bad-hsts",
        "anymail-without-esp",
        "email-port-zero",
    ],
)
def test_production_refuses_to_start_with_a_bad_setting(tmp_path, overrides, message):
    result = manage(production_env(tmp_path, **overrides), "check")

    assert result.returncode != 0
    assert message in result.stderr


def test_a_database_url_with_an_unknown_scheme_does_not_start(tmp_path):
    result = manage(subprocess_env(tmp_path, DATABASE_URL="nonsense://x"), "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL cannot be used" in result.stderr


def test_an_unknown_mail_backend_does_not_start(tmp_path):
    result = manage(subprocess_env(tmp_path, SBOR_MAIL_BACKEND="bogus"), "check")

    assert result.returncode != 0
    assert "SBOR_MAIL_BACKEND='bogus' must be one of" in result.stderr


def test_production_with_every_required_variable_passes_the_deploy_checks(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_reads_its_secrets_from_files(tmp_path):
    secret_key = tmp_path / "secret_key"
    secret_key.write_text(random_secret() + "\n", encoding="utf-8")
    lookup_key = tmp_path / "lookup_key"
    lookup_key.write_text(random_secret(), encoding="utf-8")
    env = production_env(
        tmp_path,
        SECRET_KEY=None,
        SECRET_KEY_FILE=str(secret_key),
        SBOR_LOOKUP_KEY=None,
        SBOR_LOOKUP_KEY_FILE=str(lookup_key),
    )

    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr


_PRINT_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
print(json.dumps({
    name: getattr(settings, name, None)
    for name in [
        "DEBUG", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "LANGUAGE_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY", "X_FRAME_OPTIONS", "SESSION_COOKIE_HTTPONLY",
        "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SITE_URL", "EMAIL_BACKEND",
    ]
} | {"STATICFILES": settings.STORAGES["staticfiles"]["BACKEND"]}))
"""


def settings_of(env: dict[str, str]) -> dict[str, Any]:
    result = python(env, _PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_switches_the_security_settings_on(tmp_path):
    values = settings_of(production_env(tmp_path))

    assert values["DEBUG"] is False
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["LANGUAGE_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["SECURE_REFERRER_POLICY"] == "strict-origin-when-cross-origin"
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["ALLOWED_HOSTS"] == ["example.org"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://example.org"]
    assert values["SITE_URL"] == "https://example.org"
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["STATICFILES"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_development_is_the_default_and_does_not_require_https(tmp_path):
    values = settings_of(subprocess_env(tmp_path))

    assert values["DEBUG"] is True
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["EMAIL_BACKEND"] == "mailer.backends.LocalOutboxBackend"
    assert values["SITE_URL"] == "http://127.0.0.1:8000"


def test_an_http_site_url_in_production_needs_an_explicit_opt_in(tmp_path):
    env = production_env(
        tmp_path, SBOR_SITE_URL="http://127.0.0.1:8000", SBOR_ALLOW_HTTP_SITE_URL="1"
    )

    assert settings_of(env)["SITE_URL"] == "http://127.0.0.1:8000"


def test_a_trailing_slash_on_the_site_url_is_dropped(tmp_path):
    values = settings_of(production_env(tmp_path, SBOR_SITE_URL="https://example.org/"))

    assert values["SITE_URL"] == "https://example.org"


_REQUEST_IN_PRODUCTION = """
import json
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="example.org")
plain = client.get("/")
proxied = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
health = client.get("/healthz")
print(json.dumps({
    "plain": [plain.status_code, plain.headers.get("Location")],
    "health": [health.status_code, health.content.decode()],
    "proxied_hsts": proxied.headers.get("Strict-Transport-Security"),
}))
"""


def test_production_redirects_to_https_except_for_the_health_check(tmp_path):
    env = production_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    result = python(env, _REQUEST_IN_PRODUCTION)

    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["plain"] == [301, "https://example.org/"]
    assert answers["health"][0] == 200
    assert json.loads(answers["health"][1])["status"] == "ok"
    assert answers["proxied_hsts"] == "max-age=31536000; includeSubDomains; preload"


_HEADERS_IN_PRODUCTION = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
client = Client(HTTP_HOST="example.org", HTTP_X_FORWARDED_PROTO="https")
# No collectstatic here: plain static URLs instead of the manifest's hashed ones.
plain_static = settings.STORAGES | {
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
}
with override_settings(STORAGES=plain_static):
    missing = client.get("/no-such-page/")
    language = client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
print(json.dumps({
    "status": missing.status_code,
    "csp": missing.headers.get("Content-Security-Policy"),
    "frame": missing.headers.get("X-Frame-Options"),
    "hsts": missing.headers.get("Strict-Transport-Security"),
    "csrf_cookie_secure": bool(missing.cookies["csrftoken"]["secure"]),
    "language_cookie_secure": bool(language.cookies["django_language"]["secure"]),
}))
"""


def test_production_pages_upgrade_requests_and_set_only_secure_cookies(tmp_path):
    env = production_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    result = python(env, _HEADERS_IN_PRODUCTION)

    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["status"] == 404
    directives = [part.strip() for part in answers["csp"].split(";")]
    assert "upgrade-insecure-requests" in directives
    assert "default-src 'none'" in directives
    assert "unsafe-inline" not in answers["csp"]
    assert answers["frame"] == "DENY"
    assert answers["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert answers["csrf_cookie_secure"] is True
    assert answers["language_cookie_secure"] is True
