"""/healthz: each dependency's state in JSON; 503 only when pages cannot work (the database),
200 "degraded" naming the cache or broker when only they are down."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError, connection

from config.celery import app as celery_app
from tests.config.conftest import _celery_pools_reset
from tests.throwaway import free_port

pytestmark = pytest.mark.django_db

ALL_UP = {
    "status": "ok",
    "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    "down": [],
}


def test_health_check_answers_probes_by_ip_even_when_the_host_is_not_allowed(client, settings):
    settings.ALLOWED_HOSTS = ["petitions.example.org"]
    response = client.get("/healthz", HTTP_HOST="172.18.0.5:8000")
    assert response.status_code == 200
    assert response.json() == ALL_UP


def test_other_pages_still_reject_unknown_hosts(client, settings):
    settings.ALLOWED_HOSTS = ["petitions.example.org"]
    response = client.get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400


def test_the_health_check_is_never_cached(client):
    response = client.get("/healthz")
    assert "no-store" in response["Cache-Control"]


def test_with_everything_on_redis_up_the_health_check_says_so(client, on_redis):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == ALL_UP


def test_with_redis_stopped_it_names_the_cache_and_the_broker_quickly_and_stays_in_service(
    client, on_redis
):
    on_redis.stop()
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 2.0
    # Pages keep working without Redis: a balancer must not pull this process for it.
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "cache": "down", "broker": "down"},
        "down": ["cache", "broker"],
    }

    on_redis.start()
    assert client.get("/healthz").status_code == 200


def test_a_broker_alone_down_is_named_alone(client, on_redis):
    celery_app.conf.update(broker_url=f"redis://127.0.0.1:{free_port()}/0")
    _celery_pools_reset()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["down"] == ["broker"]


def test_a_cache_alone_down_is_named_alone(client, on_redis, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["down"] == ["cache"]


def test_a_database_that_cannot_be_reached_is_named(client, monkeypatch):
    # The real outage, a stopped PostgreSQL, is in tests/config/test_database_down.py.
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["down"] == ["database"]
    assert response.json()["checks"]["database"] == "down"
