"""PostgreSQL down: every request that needs it answers 503 with Retry-After, never a 500.

The first tests raise the database error in-process (both test passes, fast). The last ones
stop a real PostgreSQL: a throwaway cluster (tests/throwaway.py) behind a gunicorn started
for the test, on either pass, since it brings its own database.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.db import InterfaceError, OperationalError
from django.middleware.common import CommonMiddleware
from django.test import Client

from config.outage import RETRY_AFTER_SECONDS
from tests.factories import petition_create
from tests.throwaway import PostgresCluster, free_port, port_accepts

# ruff: noqa: RUF001 - the Russian page's text

ENGLISH = "Sbor cannot reach its database right now, so nothing you sent could be saved."
RUSSIAN = (
    "Sbor не может сейчас связаться со своей базой данных, поэтому отправленное вами не сохранено."
)
API_DETAIL = "The service is temporarily unavailable. Please try again in a minute."

BASE_DIR = Path(__file__).resolve().parents[2]


def _unreachable(*args: object, **kwargs: object) -> None:
    raise OperationalError('connection to server at "db", port 5432 failed: Connection refused')


def assert_outage_page(response, text: str = ENGLISH) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    assert text in response.content.decode()


# --- In-process -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_page_that_meets_a_database_outage_answers_503_with_a_page_that_needs_no_database(
    client, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr("petitions.campaign_page.campaign_get_public", _unreachable)
    with django_assert_num_queries(0):
        response = client.get("/c/any-campaign/")
    assert_outage_page(response)
    assert "Temporarily unavailable" in response.content.decode()


@pytest.mark.django_db
def test_the_outage_page_speaks_the_visitors_language(client, monkeypatch):
    monkeypatch.setattr("petitions.campaign_page.campaign_get_public", _unreachable)
    response = client.get("/c/any-campaign/", HTTP_ACCEPT_LANGUAGE="ru")
    assert_outage_page(response, RUSSIAN)


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_the_api_answers_503_in_json(client, monkeypatch, error):
    def unreachable(*args: object, **kwargs: object) -> None:
        raise error("connection already closed")

    monkeypatch.setattr("petitions.api.petition_get_public", unreachable)
    response = client.get("/api/v1/petitions/any/count/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {"detail": API_DETAIL}


@pytest.mark.django_db
def test_an_outage_met_outside_any_view_answers_503_too(monkeypatch):
    monkeypatch.setattr(CommonMiddleware, "process_request", _unreachable)
    client = Client(raise_request_exception=False)
    assert_outage_page(client.get("/"))
    response = client.get("/api/v1/petitions/any/count/")
    assert response.status_code == 503
    assert response.json() == {"detail": API_DETAIL}


@pytest.mark.django_db
def test_any_other_error_is_still_the_500_page(monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("petitions.campaign_page.campaign_get_public", broken)
    response = Client(raise_request_exception=False).get("/c/any-campaign/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


@pytest.mark.django_db
def test_signing_when_the_database_fails_mid_request_stores_nothing_and_answers_503(
    client, monkeypatch
):
    from petitions.models import SignAttempt, Signature

    petition = petition_create()
    monkeypatch.setattr("petitions.services.sign_attempt_create", _unreachable)
    response = client.post(
        f"/p/{petition.slug}/sign/",
        {"name": "Anna Karenina", "email": "anna@example.org", "display": "full"},
    )
    assert_outage_page(response)
    assert not SignAttempt.objects.exists()
    assert not Signature.objects.exists()


# --- A real PostgreSQL, stopped -----------------------------------------------------------------


@dataclass
class Site:
    url: str
    cluster: PostgresCluster
    campaign_path: str
    petition_slug: str


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Sbor under gunicorn on its own PostgreSQL cluster, with the demo campaign loaded."""
    cluster = PostgresCluster()
    server: subprocess.Popen[bytes] | None = None
    try:
        cluster.start()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_URL", "REDIS_URL", "CELERY_", "DJANGO_"))
        }
        env.update(
            DATABASE_URL=cluster.url(),
            SBOR_VAR_DIR=str(tmp_path_factory.mktemp("var")),
            SBOR_DEBUG="0",
            SBOR_LOG_LEVEL="CRITICAL",
        )
        _manage(env, "migrate", "--noinput")
        demo = _manage(env, "load_demo")
        campaign_path = re.search(r"(/c/[\w-]+/)", demo).group(1)
        port = free_port()
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"), "config.wsgi",
                "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
                "--timeout", "30", "--log-level", "critical",
            ],
            env=env, cwd=BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not port_accepts(port):
            assert server.poll() is None, "gunicorn exited"
            assert time.monotonic() < deadline, "gunicorn did not start within 30 s"
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        page = requests.get(url + campaign_path, timeout=10)
        assert page.status_code == 200
        slug = re.search(r'action="/p/([\w-]+)/sign/', page.text).group(1)
        yield Site(url=url, cluster=cluster, campaign_path=campaign_path, petition_slug=slug)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        cluster.remove()


CSRF = "a" * 32  # a CSRF secret of the right shape, sent as cookie and as form field


def test_with_postgresql_stopped_every_request_answers_503_and_the_site_recovers(site):
    slug = site.petition_slug
    session = requests.Session()
    session.cookies.set("csrftoken", CSRF)
    # A session cookie makes the session (in the database) part of every request.
    session.cookies.set("sessionid", "x" * 32)
    get = lambda path, **kw: session.get(site.url + path, timeout=15, **kw)  # noqa: E731
    post = lambda path, **kw: session.post(site.url + path, timeout=15, **kw)  # noqa: E731
    sign_form = {
        "csrfmiddlewaretoken": CSRF,
        "name": "Anna Karenina",
        "email": "anna@example.org",
        "display": "full",
    }
    origin = {"Origin": site.url, "Referer": site.url + "/"}

    site.cluster.stop()
    try:
        pages = {
            "home": get("/"),
            "campaign": get(site.campaign_path),
            "campaign (ru)": get(site.campaign_path, headers={"Accept-Language": "ru"}),
            "sign form": post(f"/p/{slug}/sign/", data=sign_form, headers=origin),
            "confirm link": get("/confirm/not-a-real-token/"),
            "confirm code": post(
                f"/p/{slug}/confirm/", data={"csrfmiddlewaretoken": CSRF, "code": "ABCD-EFGH"},
                headers=origin,
            ),
            "manage": post(
                "/manage/",
                data={"csrfmiddlewaretoken": CSRF, "email": "anna@example.org"},
                headers=origin,
            ),
            "admin": get("/admin/"),
        }  # fmt: skip
        apis = {
            "count": get(f"/api/v1/petitions/{slug}/count/"),
            "sign": post(f"/api/v1/petitions/{slug}/signatures/", json={"email": "a@b.org"}),
            "challenge": get(f"/api/v1/petitions/{slug}/challenge/"),
        }
        health = get("/healthz")
    finally:
        site.cluster.start()

    for name, response in pages.items():
        assert response.status_code != 500, name
        if name == "confirm link" and response.status_code == 400:
            continue  # a token that cannot be read may be refused before the database is asked
        assert response.status_code == 503, name
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS), name
        expected = RUSSIAN if name.endswith("(ru)") else ENGLISH
        assert expected in response.text, name
    for name, response in apis.items():
        assert response.status_code == 503, name
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS), name
        assert response.json() == {"detail": API_DETAIL}, name
    assert health.status_code == 503
    assert health.json()["down"] == ["database"]

    # PostgreSQL is back: the same process answers normally, without a restart.
    assert get("/healthz").status_code == 200
    assert get(site.campaign_path).status_code == 200
    assert get(f"/api/v1/petitions/{slug}/count/").status_code == 200
    session.cookies.clear(domain="", path="/", name="sessionid")
    signed = post(f"/p/{slug}/sign/", data=sign_form, headers=origin, allow_redirects=False)
    assert signed.status_code == 302
    assert signed.headers["Location"] == f"/p/{slug}/thanks/"
