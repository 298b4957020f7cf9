"""Fixtures that point Sbor at a throwaway Redis (cache, broker and rate limits) that a test
may stop and start. They work on both test passes: on the embedded defaults the site uses
Redis only inside these tests. Also the docker-compose files, read once per test module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from django.conf import settings as django_settings
from kombu import pools as kombu_pools

from common.cache import cache_outages_forget
from config.celery import app as celery_app
from tests.config.processes import BASE_DIR
from tests.throwaway import RedisServer
from trust.ratelimit import ratelimit_reset

# One database number per use, as a deployment could: the broker's queues apart from the cache.
CACHE_DB, BROKER_DB, RATELIMIT_DB = 1, 2, 3
BROKER_CONF = ("broker_url", "broker_transport_options", "broker_connection_timeout")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def _celery_pools_reset() -> None:
    # The app keeps a connection pool and a producer pool for the broker it first used, and
    # kombu a registry of pools per connection: close them all, they are made again on use.
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@dataclass
class OnRedis:
    """The site configured to use ``server``; ``stop()`` and ``start()`` it mid-test."""

    server: RedisServer

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server.start()

    def broker_queue_length(self, queue: str) -> int:
        import redis

        client = redis.Redis.from_url(self.server.url(BROKER_DB))
        try:
            # kombu keeps one list per queue (and per priority step, under suffixed keys).
            return sum(int(client.llen(key)) for key in client.scan_iter(match=f"{queue}*"))
        finally:
            client.close()


@pytest.fixture
def on_redis(redis_server: RedisServer, settings: Any) -> Iterator[OnRedis]:
    """Cache, broker and rate limits on the throwaway Redis, tasks sent for real (not eager).

    The same options as config.settings uses with REDIS_URL set; the server is left
    running afterwards, whatever the test did to it.
    """
    if redis_server.process is None:
        redis_server.start()
    timeout = django_settings.REDIS_TIMEOUT_SECONDS
    settings.REDIS_URL = redis_server.url(RATELIMIT_DB)
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.ResilientRedisCache",
            "LOCATION": redis_server.url(CACHE_DB),
            "KEY_PREFIX": "sbor",
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
    }
    saved = {name: celery_app.conf[name] for name in BROKER_CONF}
    celery_app.conf.update(
        broker_url=redis_server.url(BROKER_DB),
        broker_transport_options={
            "visibility_timeout": 3600,
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
        },
        broker_connection_timeout=timeout,
        task_always_eager=False,
    )
    _celery_pools_reset()
    cache_outages_forget()
    ratelimit_reset()
    yield OnRedis(redis_server)
    if redis_server.process is None:
        redis_server.start()
    celery_app.conf.update(saved)
    _celery_pools_reset()
    cache_outages_forget()


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
