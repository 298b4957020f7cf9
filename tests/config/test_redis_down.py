"""Redis stopped (cache, broker and rate limits at once): Sbor keeps serving, never loses.

The site runs on a throwaway Redis that each test stops and starts (tests/config/conftest.py).
Requests commit for real (``transaction=True``), so the after-commit enqueue meets the
stopped broker inside the request, as in production.
"""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta

import pytest
from django.core.cache import cache

from common.tasks import enqueue_now
from mailer import services as mailer_services
from mailer.models import OutboxMessage
from mailer.tasks import outbox_send
from petitions import tokens
from petitions.models import FlaggedAttemptTally, SignAttempt, Signature, Supporter
from petitions.services import manage_links, sign_attempts_sweep
from tests.factories import (
    challenge_solution,
    latest_attempt,
    petition_create,
    signature_create,
)
from tests.throwaway import free_port
from trust import identity

pytestmark = pytest.mark.django_db(transaction=True)

# A stopped broker is refused at once; a silent one is given REDIS_TIMEOUT_SECONDS (0.5).
FAST_ENOUGH_SECONDS = 1.0


def form_sign(client, petition, *, email: str, name: str = "Anna Karenina"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/p/{petition.slug}/sign/", {"name": name, "email": email, "display": "full"}
    )


def api_sign(client, petition, *, email: str):  # type: ignore[no-untyped-def]
    body = json.dumps({"name": "Boris Godunov", "email": email})
    return client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/", body, content_type="application/json"
    )


def supporter_of(email: str) -> Supporter:
    return Supporter.objects.get(email_digest=identity.email_digest(email))


# --- The publish fails fast -----------------------------------------------------------------


def test_a_publish_to_a_stopped_broker_fails_at_once_and_is_reported_not_raised(on_redis, caplog):
    on_redis.stop()
    started = time.monotonic()
    assert enqueue_now(outbox_send, 1) is False
    assert time.monotonic() - started < FAST_ENOUGH_SECONDS
    assert "could not enqueue mailer.tasks.outbox_send" in caplog.text


def test_a_publish_to_a_broker_that_never_answers_gives_up_within_a_second(on_redis, settings):
    # A listening socket nobody reads: the connection is accepted, no answer ever comes.
    from config.celery import app as celery_app
    from tests.config.conftest import _celery_pools_reset

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", free_port()))
        silent.listen(16)
        celery_app.conf.update(broker_url=f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        _celery_pools_reset()
        started = time.monotonic()
        assert enqueue_now(outbox_send, 1) is False
        elapsed = time.monotonic() - started
    assert elapsed < FAST_ENOUGH_SECONDS


def test_a_publish_works_again_as_soon_as_the_broker_is_back(on_redis):
    assert enqueue_now(outbox_send, 1) is True
    on_redis.stop()
    assert enqueue_now(outbox_send, 1) is False
    on_redis.start()
    assert enqueue_now(outbox_send, 1) is True
    # The first message was lost with the stopped server's memory (this throwaway Redis
    # keeps nothing on disk); the outbox rows are what survive that, see the next tests.
    assert on_redis.broker_queue_length("mail") == 1


# --- Pages and endpoints keep working ---------------------------------------------------------


def test_the_campaign_page_is_served_from_the_database_while_the_cache_is_down(client, on_redis):
    petition = petition_create(title="Free the prisoners of conscience")
    signature_create(petition=petition, name="Vera Zasulich", display="full", confirmed=True)
    on_redis.stop()

    response = client.get(f"/c/{petition.campaign.slug}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Free the prisoners of conscience" in html
    assert "Vera Zasulich" in html  # the recent signers, read from the rows instead of the cache


def test_signing_and_managing_work_while_redis_is_down_and_the_mail_goes_out_after(
    client, on_redis
):
    petition = petition_create()
    on_redis.stop()

    # Sign through the form and the API.
    signed = form_sign(client, petition, email="anna@example.org")
    assert signed.status_code == 302, signed.content
    assert signed["Location"] == f"/p/{petition.slug}/thanks/"
    assert client.get(signed["Location"]).status_code == 200
    through_api = api_sign(client, petition, email="boris@example.org")
    assert through_api.status_code == 202, through_api.content
    # The requests recorded the attempts; their tasks could not be enqueued. The sweep
    # (as the periodic worker runs it) processes them from the database; the emails they
    # queue wait as rows, since their own tasks cannot be enqueued either.
    assert SignAttempt.objects.filter(processed_at__isnull=True).count() == 2
    assert not Signature.objects.exists()
    assert sign_attempts_sweep(older_than=timedelta(0)) == 2
    anna = Signature.objects.get(supporter=supporter_of("anna@example.org"))
    boris = Signature.objects.get(supporter=supporter_of("boris@example.org"))
    assert anna.status == boris.status == Signature.Status.PENDING

    # Ask for a manage link, open the page, withdraw.
    assert client.post("/manage/", {"email": "anna@example.org"}).status_code < 500
    manage = f"/manage/{manage_links.manage_token_make(supporter=anna.supporter)}/"
    assert client.get(manage).status_code == 200
    withdrawn = client.post(f"{manage}signatures/{anna.public_id}/withdraw/")
    assert withdrawn.status_code == 302
    anna.refresh_from_db()
    assert anna.status == Signature.Status.WITHDRAWN

    # Erase another signer.
    clara_response = form_sign(client, petition, email="clara@example.org", name="Clara Zetkin")
    assert clara_response.status_code == 302
    assert sign_attempts_sweep(older_than=timedelta(0)) == 1
    clara = supporter_of("clara@example.org")
    erase = f"/manage/{manage_links.manage_token_make(supporter=clara)}/erase/"
    assert client.post(erase, {"confirm": "on"}).status_code == 302
    assert not Supporter.objects.filter(pk=clara.pk).exists()

    # Nothing could be sent meanwhile, and nothing was lost: every message waits, queued.
    waiting = list(OutboxMessage.objects.values_list("status", flat=True))
    assert waiting, "signing queued no email"
    assert set(waiting) == {OutboxMessage.Status.QUEUED}

    # Redis is back: the sweep enqueues every waiting message, once.
    on_redis.start()
    assert on_redis.broker_queue_length("mail") == 0
    assert mailer_services.outbox_requeue(older_than=timedelta(0)) == len(waiting)
    assert on_redis.broker_queue_length("mail") == len(waiting)


def test_confirming_while_the_broker_is_down_saves_it_and_answers_the_normal_page(client, on_redis):
    signature = signature_create(email="anna@example.org")
    token = tokens.confirm_token_make(str(latest_attempt(signature).public_id))
    on_redis.stop()

    assert client.get(f"/confirm/{token}/").status_code == 200
    confirmed = client.post(f"/confirm/{token}/")

    assert confirmed.status_code == 302
    assert confirmed["Location"] == f"/p/{signature.petition.slug}/confirmed/"
    assert client.get(confirmed["Location"]).status_code == 200
    signature.refresh_from_db()
    assert signature.status == Signature.Status.CONFIRMED


def test_the_confirmation_code_form_and_the_count_api_work_while_redis_is_down(client, on_redis):
    petition = petition_create()
    on_redis.stop()

    code_page = client.get(f"/p/{petition.slug}/confirm/")
    wrong_code = client.post(f"/p/{petition.slug}/confirm/", {"code": "ABCD-EFGH"})
    count = client.get(f"/api/v1/petitions/{petition.slug}/count/")
    challenge = client.get(f"/api/v1/petitions/{petition.slug}/challenge/")

    assert code_page.status_code == 200
    assert wrong_code.status_code == 400
    assert count.status_code == 200
    assert count.json()["count"] == 0
    assert challenge.status_code == 200


def test_rate_limits_let_signatures_through_while_their_store_is_down(client, on_redis, settings):
    """The documented policy (trust.ratelimit): fail open, so an outage never stops signing."""
    settings.RATE_IP_BURST_PER_MINUTE = 1
    petition = petition_create()
    on_redis.stop()

    for n in range(3):
        assert form_sign(client, petition, email=f"person{n}@example.org").status_code == 302

    # Each was recorded for processing; none was flagged.
    assert SignAttempt.objects.count() == 3
    assert not FlaggedAttemptTally.objects.exists()


def test_a_solved_challenge_is_accepted_while_the_store_of_spent_ones_is_down(client, on_redis):
    """Spent challenges are remembered in the cache; like the limits, that check fails open."""
    petition = petition_create(challenge_required=True)
    solution = challenge_solution(petition=petition)
    on_redis.stop()

    body = json.dumps({"name": "Anna", "email": "anna@example.org", "altcha": solution})
    response = client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/", body, content_type="application/json"
    )

    assert response.status_code == 202
    assert SignAttempt.objects.filter(petition=petition).count() == 1
    assert not FlaggedAttemptTally.objects.exists()


# --- The cache --------------------------------------------------------------------------------


def test_the_cache_answers_as_empty_while_redis_is_down_and_works_again_after(on_redis, caplog):
    cache.set("greeting", "hello", 60)
    assert cache.get("greeting") == "hello"
    on_redis.stop()

    assert cache.get("greeting") is None
    assert cache.get("greeting", "fallback") == "fallback"
    assert cache.get_many(["greeting"]) == {}
    cache.set("greeting", "hi", 60)  # dropped, not raised
    assert cache.add("once", True, 60) is True  # once-only markers fail open, as limits do
    assert cache.delete("greeting") is False
    assert cache.has_key("greeting") is False
    with pytest.raises(ValueError):
        cache.incr("counter")
    warnings = [r for r in caplog.records if r.name == "common.cache"]
    assert len(warnings) == 1, "one warning per back-off period, not one per call"
    assert "ConnectionError" in warnings[0].getMessage()

    on_redis.start()
    from common.cache import cache_outages_forget

    cache_outages_forget()  # as if the back-off period had passed
    cache.set("greeting", "back", 60)
    assert cache.get("greeting") == "back"


def test_many_threads_meeting_the_outage_at_once_log_it_once(on_redis, caplog):
    import threading

    on_redis.stop()
    start = threading.Barrier(8)
    answers: list[object] = []

    def read() -> None:
        start.wait(timeout=10)
        answers.append(cache.get("anything", "fallback"))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert answers == ["fallback"] * 8
    assert len([r for r in caplog.records if r.name == "common.cache"]) == 1


def test_the_cache_leaves_a_down_redis_alone_during_its_back_off(on_redis, monkeypatch, caplog):
    import common.cache

    on_redis.stop()
    assert cache.get("anything") is None
    calls: list[object] = []

    def counting_get(*args: object, **kwargs: object) -> str:
        calls.append(args)
        return "x"

    monkeypatch.setattr(common.cache.RedisCache, "get", counting_get)
    assert cache.get("anything") is None
    assert calls == []

    monkeypatch.undo()
    common.cache.cache_outages_forget()  # as if the back-off period had passed
    assert cache.get("anything") is None
    warnings = [r for r in caplog.records if r.name == "common.cache"]
    assert len(warnings) == 2, "a new back-off period logs again"


# --- The settings the fixtures mirror -----------------------------------------------------------


def test_with_redis_url_the_cache_broker_and_limits_get_short_timeouts(tmp_path):
    """tests/config/conftest.py configures the throwaway Redis like this; keep them in step."""
    from tests.config.processes import python, subprocess_env

    code = (
        "import json, django; django.setup()\n"
        "from django.conf import settings as s\n"
        "from config.celery import app\n"
        "print(json.dumps([s.CACHES['default'], app.conf.broker_transport_options,\n"
        "    app.conf.broker_connection_timeout, s.REDIS_TIMEOUT_SECONDS]))\n"
    )
    result = python(subprocess_env(tmp_path, REDIS_URL="redis://127.0.0.1:6399/0"), code)
    assert result.returncode == 0, result.stderr
    cache, transport, connection_timeout, timeout = json.loads(result.stdout.splitlines()[-1])
    assert timeout == 0.5
    assert cache["BACKEND"] == "common.cache.ResilientRedisCache"
    assert cache["OPTIONS"] == {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    assert transport["socket_connect_timeout"] == transport["socket_timeout"] == timeout
    assert transport["visibility_timeout"] == 3600
    assert connection_timeout == timeout
