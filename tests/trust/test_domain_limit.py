"""The per-domain limit is filled only by attempts that mail someone.

A bucket that strangers share must not move for what a script can send for free: a honeypot
hit, a blocked or disposable address, an attempt past its own client's limit. Otherwise a
script could use up a provider's limit, or fill a one-person domain's bucket to one below
the limit and learn from one probe whether that person signed this hour. Those attempts
still count against their client's limits.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings

from mailer.selectors import outbox_messages_filter
from petitions import services
from petitions.models import FlaggedAttemptTally, Petition, Signature
from petitions.selectors import petition_integrity
from tests.factories import block_rule_create, petition_create, post_and_run_tasks
from trust import ratelimit
from trust.models import BlockRule
from trust.providers import PRIVACY_PROVIDERS
from trust.services import sign_attempt_assess

pytestmark = pytest.mark.django_db

# A moment well inside a minute and an hour: no test straddles a window boundary.
NOW = 1_800_000_000.0 + 5


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_now", lambda: NOW)


@pytest.fixture(autouse=True)
def limits(settings: Any) -> None:
    settings.RATE_IP_BURST_PER_MINUTE = 10
    settings.RATE_IP_SUSTAINED_PER_HOUR = 60
    settings.RATE_DOMAIN_PER_HOUR = 100
    settings.CHALLENGE_AUTO_PER_MINUTE = 100_000


def verdict(ip: str, email: str, *, automated: bool = False) -> str:
    return sign_attempt_assess(petition_id=1, ip=ip, email=email, automated=automated)[1]


def sign_form(client: Any, petition: Petition, *, email: str, ip: str, **extra: str) -> Any:
    data = {"name": "Same Name", "email": email, "display": "hidden", **extra}
    return post_and_run_tasks(client, f"/p/{petition.slug}/sign/", data, REMOTE_ADDR=ip)


# --- The oracle -------------------------------------------------------------------------------


def probe(client: Any, *, victim_signed: bool) -> dict[str, object]:
    """The attack on a one-person domain, as the attacker sees it.

    The victim (or nobody) signs; the attacker fills the domain's bucket to one below the
    limit with honeypot attempts from several addresses, then sends one attempt that looks
    genuine, and reads the public numbers.
    """
    ratelimit.ratelimit_reset()
    petition = petition_create(title="Free the Three")
    if victim_signed:
        sign_form(client, petition, email="owner@one-person.example", ip="192.0.2.1")
    limit = django_settings.RATE_DOMAIN_PER_HOUR
    for n in range(limit - 1):
        answer = sign_form(
            client,
            petition,
            email=f"bot{n}@one-person.example",
            ip=f"198.51.100.{n // 5}",
            website="https://spam.example/",
        )
        assert answer.status_code == 302
    answer = sign_form(client, petition, email="probe@one-person.example", ip="203.0.113.9")
    services.petition_integrity_refresh()
    petition.refresh_from_db()
    return {
        "answer": (answer.status_code, answer["Location"].replace(petition.slug, "…")),
        "integrity": petition_integrity(petition=petition).parts,
        "tallies": sorted(
            FlaggedAttemptTally.objects.filter(petition=petition).values_list(
                "reason", "detail", "count"
            )
        ),
    }


def test_an_attacker_cannot_learn_from_the_domain_limit_whether_someone_signed(client, settings):
    settings.RATE_DOMAIN_PER_HOUR = 8
    signed = probe(client, victim_signed=True)
    not_signed = probe(client, victim_signed=False)
    assert signed == not_signed
    # The honeypot attempts are tallied as automated; the probe went through.
    assert signed["tallies"] == [("automated", "honeypot", 7)]


def test_filling_the_domain_bucket_with_real_attempts_shows_the_public_nothing(client, settings):
    # The costlier variant: the attacker fills a one-person domain's bucket with ordinary
    # attempts (each mails its address), then probes. Whether the probe trips the limit
    # depends on whether the owner signed this hour, so that tally is never public.
    settings.RATE_DOMAIN_PER_HOUR = 3

    def public_view(*, owner_signs: bool) -> list[str]:
        ratelimit.ratelimit_reset()
        petition = petition_create(title="Free the Three")
        if owner_signs:
            sign_form(client, petition, email="owner@one-person.example", ip="192.0.2.1")
        for n in range(2):
            sign_form(client, petition, email=f"filler{n}@one-person.example", ip=f"198.51.100.{n}")
        sign_form(client, petition, email="probe@one-person.example", ip="203.0.113.9")
        services.petition_integrity_refresh()
        petition.refresh_from_db()
        return petition_integrity(petition=petition).parts

    assert public_view(owner_signs=True) == public_view(owner_signs=False)
    # Staff still see the attempts the limit stopped.
    assert FlaggedAttemptTally.objects.filter(detail="domain_rate").exists()


# --- Free attempts do not use up a domain's limit ----------------------------------------


@pytest.mark.parametrize("domain", ["riseup.net", "small-collective.example"])
def test_two_hundred_honeypot_attempts_do_not_stop_a_genuine_signer(client, domain):
    petition = petition_create()
    for n in range(200):
        services.signature_create(
            petition=petition,
            email=f"bot{n}@{domain}",
            name="Bot",
            client_ip=f"198.51.100.{n % 2}",
            automated="honeypot",
        )
    answer = sign_form(client, petition, email=f"anna@{domain}", ip="203.0.113.9")
    assert answer.status_code == 302
    signature = Signature.objects.get(petition=petition)
    assert signature.status == Signature.Status.PENDING
    assert outbox_messages_filter(about_key="signature", about_ids=[signature.pk]).count() == 1
    assert not FlaggedAttemptTally.objects.filter(reason="rate_limit").exists()


def domain_counter(registrable: str) -> int:
    """How many hits the configured store holds for this domain's bucket this hour."""
    name = ratelimit.ratelimit_store_key(
        key=f"sign:domain:{registrable}", window_seconds=3600, window=int(NOW // 3600)
    )
    client = ratelimit._redis_client()
    if client is None:
        return ratelimit._local_counts.get(name, (0, 0.0))[0]
    return int(client.get(name) or 0)


def test_blocked_disposable_and_over_the_client_limit_attempts_leave_the_domain_alone(
    settings,
):
    settings.RATE_DOMAIN_PER_HOUR = 2
    settings.RATE_IP_BURST_PER_MINUTE = 3
    block_rule_create(kind=BlockRule.Kind.IP, value="198.51.100.66")
    block_rule_create(kind=BlockRule.Kind.DOMAIN, value="blocked.small.example")
    for n in range(3):  # .77 uses up its own burst elsewhere
        assert verdict("198.51.100.77", f"p@elsewhere{n}.example") == ""
    for n in range(5):
        assert verdict("198.51.100.66", f"blocked{n}@small.example") == "ip"
        assert verdict("198.51.100.77", f"over{n}@small.example") == "ip_burst"
        assert verdict(f"198.51.101.{n}", f"x{n}@blocked.small.example") == "domain"
        assert verdict(f"198.51.102.{n}", f"bot{n}@small.example", automated=True) == ""
        assert verdict(f"198.51.103.{n}", f"bot{n}@mailinator.com") == "disposable"
    assert domain_counter("small.example") == 0
    assert domain_counter("mailinator.com") == 0
    # The first clean attempts at the domain find its whole limit.
    assert verdict("192.0.2.1", "anna@small.example") == ""
    assert verdict("192.0.2.2", "boris@small.example") == ""
    assert verdict("192.0.2.3", "clara@small.example") == "domain_rate"
    assert domain_counter("small.example") == 3


def test_only_clean_attempts_fill_the_bucket(settings):
    settings.RATE_DOMAIN_PER_HOUR = 2
    for n in range(10):
        assert verdict(f"198.51.102.{n}", f"bot{n}@small.example", automated=True) == ""
    assert verdict("192.0.2.1", "anna@small.example") == ""
    assert verdict("192.0.2.2", "boris@small.example") == ""
    assert verdict("192.0.2.3", "clara@small.example") == "domain_rate"


def test_free_attempts_still_count_against_their_clients_limits(settings):
    settings.RATE_IP_BURST_PER_MINUTE = 3
    block_rule_create(kind=BlockRule.Kind.DOMAIN, value="spam.example")
    assert verdict("198.51.100.7", "a@example.org", automated=True) == ""
    assert verdict("198.51.100.7", "b@spam.example") == "domain"
    assert verdict("198.51.100.7", "c@mailinator.com") == "disposable"
    assert verdict("198.51.100.7", "d@example.org") == "ip_burst"


# --- A clean flood still trips it ---------------------------------------------------------


def test_a_flood_of_clean_attempts_still_trips_the_domain_limit(client, settings):
    settings.RATE_DOMAIN_PER_HOUR = 5
    petition = petition_create()
    for n in range(8):
        sign_form(client, petition, email=f"p{n}@catch-all.example", ip=f"198.51.100.{n}")
    assert Signature.objects.filter(petition=petition).count() == 5
    tally = FlaggedAttemptTally.objects.get(petition=petition)
    assert (tally.reason, tally.detail, tally.count) == ("rate_limit", "domain_rate", 3)


# --- Privacy providers are exempt by default ----------------------------------------------


def test_privacy_providers_are_exempt_from_the_domain_limit_by_default():
    for domain in ("riseup.net", "tutanota.com", "posteo.de", "disroot.org", "pm.me"):
        assert domain in django_settings.RATE_DOMAIN_EXEMPT
    assert PRIVACY_PROVIDERS.issubset(django_settings.RATE_DOMAIN_EXEMPT)
    assert "gmail.com" in django_settings.RATE_DOMAIN_EXEMPT


def test_a_clean_flood_at_a_privacy_provider_is_not_limited_per_domain(settings):
    settings.RATE_DOMAIN_PER_HOUR = 2
    assert [verdict(f"198.51.100.{n}", f"p{n}@riseup.net") for n in range(5)] == [""] * 5
