"""Block rules, disposable domains and the verdict on a sign attempt."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from tests.factories import admin_login, block_rule_create, staff_user_create
from trust import identity, ratelimit
from trust.blocklist import PRIVACY_PROVIDERS, blocklist_match, disposable_domain
from trust.models import BlockRule
from trust.services import FlagReason, block_rule_delete, sign_attempt_assess

pytestmark = pytest.mark.django_db

PRIVACY_DOMAINS = [
    "proton.me", "protonmail.com", "pm.me", "tuta.io", "tutanota.com", "tutanota.de",
    "tutamail.com", "tuta.com", "keemail.me", "riseup.net", "disroot.org", "posteo.de",
    "posteo.net", "mailbox.org", "systemli.org", "autistici.org", "inventati.org", "cock.li",
    "duck.com", "simplelogin.com", "simplelogin.co", "anonaddy.me", "addy.io", "mozmail.com",
    "relay.firefox.com", "startmail.com", "countermail.com", "ctemplar.com", "mailfence.com",
    "onionmail.org",
]  # fmt: skip

Kind = BlockRule.Kind


# --- Matching -----------------------------------------------------------------------------


def test_nothing_matches_without_rules():
    assert blocklist_match(ip="198.51.100.7", email="anna@example.org") == ""


def test_an_ip_rule_matches_that_address_only():
    block_rule_create(kind=Kind.IP, value="198.51.100.7")
    assert blocklist_match(ip="198.51.100.7", email="anna@example.org") == "ip"
    assert blocklist_match(ip="::ffff:198.51.100.7", email="anna@example.org") == "ip"
    assert blocklist_match(ip="198.51.100.8", email="anna@example.org") == ""


def test_a_network_rule_matches_every_address_inside_it():
    block_rule_create(kind=Kind.NETWORK, value="198.51.100.77/24")
    block_rule_create(kind=Kind.NETWORK, value="2001:db8:1::/48")
    assert blocklist_match(ip="198.51.100.200", email="") == "network"
    assert blocklist_match(ip="2001:db8:1:ffff::9", email="") == "network"
    assert blocklist_match(ip="198.51.101.1", email="") == ""
    assert blocklist_match(ip="2001:db8:2::1", email="") == ""


def test_a_domain_rule_matches_the_domain_and_its_subdomains_only():
    block_rule_create(kind=Kind.DOMAIN, value="Spam.Example")
    assert blocklist_match(ip="", email="bot@spam.example") == "domain"
    assert blocklist_match(ip="", email="bot@MX.SPAM.EXAMPLE") == "domain"
    assert blocklist_match(ip="", email="anna@notspam.example") == ""
    assert blocklist_match(ip="", email="anna@spam.example.org") == ""


def test_a_domain_rule_for_an_international_domain_matches_either_spelling():
    block_rule_create(kind=Kind.DOMAIN, value="почта.рф")
    assert blocklist_match(ip="", email="bot@почта.рф") == "domain"
    assert blocklist_match(ip="", email="bot@xn--80a1acny.xn--p1ai") == "domain"


def test_an_address_rule_matches_the_mailbox_however_it_is_written():
    block_rule_create(kind=Kind.ADDRESS, value="Troll.Account@gmail.com")
    assert blocklist_match(ip="", email="trollaccount+x@googlemail.com") == "address"
    assert blocklist_match(ip="", email="anna@gmail.com") == ""


def test_an_address_rule_stores_only_the_keyed_hash():
    rule = block_rule_create(kind=Kind.ADDRESS, value="troll@example.org", note="spam wave")
    assert rule.value == identity.email_digest("troll@example.org")
    assert not BlockRule.objects.filter(value__icontains="troll").exists()


def test_ip_rules_come_before_email_rules():
    block_rule_create(kind=Kind.IP, value="198.51.100.7")
    block_rule_create(kind=Kind.DOMAIN, value="spam.example")
    assert blocklist_match(ip="198.51.100.7", email="bot@spam.example") == "ip"


def test_new_and_deleted_rules_take_effect_at_once_despite_the_cache():
    assert blocklist_match(ip="198.51.100.7", email="") == ""  # the empty set is now cached
    rule = block_rule_create(kind=Kind.IP, value="198.51.100.7")
    assert blocklist_match(ip="198.51.100.7", email="") == "ip"
    block_rule_delete(rule=rule)
    assert blocklist_match(ip="198.51.100.7", email="") == ""


def test_the_rule_set_is_cached_between_attempts(django_assert_num_queries):
    block_rule_create(kind=Kind.IP, value="198.51.100.7")
    blocklist_match(ip="198.51.100.7", email="a@example.org")
    with django_assert_num_queries(0):
        assert blocklist_match(ip="198.51.100.7", email="a@example.org") == "ip"


# --- Creating rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        (Kind.IP, " 2001:DB8::0001 ", "2001:db8::1"),
        (Kind.NETWORK, "198.51.100.77/24", "198.51.100.0/24"),
        (Kind.NETWORK, "2001:DB8:1::5/48", "2001:db8:1::/48"),
        (Kind.DOMAIN, "@Example.ORG.", "example.org"),
    ],
)
def test_values_are_stored_normalised(kind, value, stored):
    assert block_rule_create(kind=kind, value=value).value == stored


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (Kind.IP, "198.51.100", "valid IPv4 or IPv6 address"),
        (Kind.IP, "", "valid IPv4 or IPv6 address"),
        (Kind.NETWORK, "198.51.100.0/33", "valid network"),
        (Kind.NETWORK, "nonsense", "valid network"),
        (Kind.DOMAIN, "localhost", "Enter a domain"),
        (Kind.DOMAIN, "spam..example", "Enter a domain"),
        (Kind.DOMAIN, "-bad-.example", "Enter a domain"),
        (Kind.ADDRESS, "not-an-address", "valid email address"),
        ("planet", "earth", "kind of rule"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(kind, value, message):
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        block_rule_create(kind=kind, value=value)
    assert message in " ".join(excinfo.value.messages)
    assert not BlockRule.objects.exists()


def test_a_rule_that_exists_already_is_refused():
    block_rule_create(kind=Kind.NETWORK, value="198.51.100.0/24")
    with pytest.raises(ValidationError, match="exists already"):
        block_rule_create(kind=Kind.NETWORK, value="198.51.100.9/24")
    assert BlockRule.objects.count() == 1


# --- Disposable domains -------------------------------------------------------------------


@pytest.mark.parametrize("domain", PRIVACY_DOMAINS)
def test_privacy_mail_providers_are_never_disposable(domain):
    assert domain in PRIVACY_PROVIDERS
    assert not disposable_domain(email=f"someone@{domain}")


@pytest.mark.parametrize("domain", ["mailinator.com", "guerrillamail.com", "MAILINATOR.COM"])
def test_throwaway_mail_domains_are_disposable(domain):
    assert disposable_domain(email=f"someone@{domain}")


def test_a_subdomain_of_a_disposable_domain_is_disposable_too():
    assert disposable_domain(email="x@inbox.mailinator.com")


def test_a_privacy_provider_wins_even_if_a_future_list_names_it(monkeypatch):
    from trust import blocklist

    monkeypatch.setattr(blocklist, "_disposable_domains", {"riseup.net", "mailinator.com"})
    assert not disposable_domain(email="someone@riseup.net")
    assert disposable_domain(email="someone@mailinator.com")


@pytest.mark.parametrize("email", ["anna@gmail.com", "anna@example.org", "anna@yandex.ru"])
def test_ordinary_addresses_are_not_disposable(email):
    assert not disposable_domain(email=email)


# --- The verdict on one attempt -----------------------------------------------------------


def assess(
    ip: str = "198.51.100.7", email: str = "anna@example.org"
) -> tuple[FlagReason | None, str]:
    return sign_attempt_assess(petition_id=1, ip=ip, email=email)


def test_a_clean_attempt_passes():
    assert assess() == (None, "")


def test_a_blocklisted_attempt_is_flagged_with_the_rule_that_matched():
    block_rule_create(kind=Kind.DOMAIN, value="spam.example")
    assert assess(email="bot@spam.example") == ("blocklist", "domain")


def test_a_disposable_address_is_flagged():
    assert assess(email="bot@mailinator.com") == ("disposable", "disposable")


def test_the_blocklist_comes_before_the_disposable_list():
    block_rule_create(kind=Kind.IP, value="198.51.100.7")
    assert assess(email="bot@mailinator.com") == ("blocklist", "ip")


def test_the_ip_burst_limit(settings):
    settings.RATE_IP_BURST_PER_MINUTE = 3
    verdicts = [assess(email=f"p{n}@example{n}.org") for n in range(5)]
    assert verdicts == [(None, "")] * 3 + [("rate_limit", "ip_burst")] * 2
    # Another address is not affected.
    assert assess(ip="198.51.100.8") == (None, "")


def test_the_ip_sustained_limit(settings):
    settings.RATE_IP_SUSTAINED_PER_HOUR = 2
    verdicts = [assess(email=f"p{n}@example{n}.org") for n in range(3)]
    assert verdicts[-1] == ("rate_limit", "ip_sustained")


def test_the_email_domain_limit(settings):
    settings.RATE_DOMAIN_PER_HOUR = 2
    verdicts = [assess(ip=f"198.51.100.{n}", email=f"p{n}@small.example") for n in range(3)]
    assert verdicts[-1] == ("rate_limit", "domain_rate")


def test_large_providers_are_exempt_from_the_domain_limit(settings):
    settings.RATE_DOMAIN_PER_HOUR = 1
    settings.RATE_DOMAIN_EXEMPT = ["gmail.com"]
    verdicts = [assess(ip=f"198.51.100.{n}", email=f"p{n}@googlemail.com") for n in range(5)]
    assert verdicts == [(None, "")] * 5


def test_without_an_ip_only_the_email_checks_run(settings):
    settings.RATE_IP_BURST_PER_MINUTE = 1
    block_rule_create(kind=Kind.IP, value="198.51.100.7")
    assert [assess(ip="", email=f"p{n}@example.org") for n in range(3)] == [(None, "")] * 3
    assert assess(ip="", email="bot@mailinator.com") == ("disposable", "disposable")


def test_flagged_attempts_count_against_the_limits_too(settings):
    settings.RATE_IP_BURST_PER_MINUTE = 2
    assert assess(email="bot@mailinator.com") == ("disposable", "disposable")
    assert assess(email="bot2@mailinator.com") == ("disposable", "disposable")
    assert assess() == ("rate_limit", "ip_burst")


def test_rate_limit_keys_hold_no_address_or_domain(settings):
    settings.REDIS_URL = ""  # the in-process store can be listed without a server
    assess(ip="198.51.100.7", email="anna@small.example")
    keys = " ".join(ratelimit._local_counts)
    assert keys
    assert "198.51.100" not in keys and "small.example" not in keys


def test_the_log_says_which_rule_never_who(settings, caplog):
    block_rule_create(kind=Kind.DOMAIN, value="spam.example")
    with caplog.at_level("DEBUG"):
        assess(ip="198.51.100.7", email="bot@spam.example")
    assert "blocklist" in caplog.text
    assert "198.51.100.7" not in caplog.text and "spam.example" not in caplog.text


# --- Admin --------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    admin_login(client, staff_user_create())
    return client


def test_staff_add_an_address_rule_and_the_list_shows_only_that_it_is_hashed(staff_client):
    response = staff_client.post(
        "/admin/trust/blockrule/add/",
        {"kind": "address", "value": "troll@example.org", "note": "spam wave"},
    )
    assert response.status_code == 302
    rule = BlockRule.objects.get()
    assert rule.value == identity.email_digest("troll@example.org")
    assert rule.created_by is not None
    page = staff_client.get("/admin/trust/blockrule/").content.decode()
    [value_cell] = re.findall(r'<td class="field-value_shown">(.*?)</td>', page)
    assert value_cell == "address (hashed)"
    assert "spam wave" in page
    assert "troll@example.org" not in page
    assert blocklist_match(ip="", email="troll@example.org") == "address"


def test_staff_find_an_address_rule_by_typing_the_address(staff_client):
    block_rule_create(kind=Kind.ADDRESS, value="troll@example.org", note="found me")
    block_rule_create(kind=Kind.DOMAIN, value="other.example", note="not me")
    page = staff_client.get("/admin/trust/blockrule/", {"q": "Troll@Example.org"}).content
    assert b"found me" in page and b"not me" not in page


def test_a_bad_value_in_the_admin_is_shown_on_the_field_not_a_500(staff_client):
    response = staff_client.post(
        "/admin/trust/blockrule/add/", {"kind": "network", "value": "300.1.1.1/8", "note": ""}
    )
    assert response.status_code == 200
    assert "Enter a valid network" in response.content.decode()
    assert not BlockRule.objects.exists()


def test_a_duplicate_rule_in_the_admin_is_refused_on_the_form(staff_client):
    block_rule_create(kind=Kind.IP, value="198.51.100.7")
    response = staff_client.post(
        "/admin/trust/blockrule/add/", {"kind": "ip", "value": "198.51.100.7", "note": ""}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert BlockRule.objects.count() == 1


def test_staff_delete_a_rule_and_it_stops_matching_at_once(staff_client):
    rule = block_rule_create(kind=Kind.IP, value="198.51.100.7")
    assert blocklist_match(ip="198.51.100.7", email="") == "ip"
    response = staff_client.post(f"/admin/trust/blockrule/{rule.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not BlockRule.objects.exists()
    assert blocklist_match(ip="198.51.100.7", email="") == ""


def test_rules_are_not_edited_in_place_and_ip_hash_keys_are_not_in_the_admin(staff_client):
    rule = block_rule_create(kind=Kind.IP, value="198.51.100.7")
    staff_client.post(
        f"/admin/trust/blockrule/{rule.pk}/change/",
        {"kind": "ip", "value": "198.51.100.8", "note": ""},
    )
    rule.refresh_from_db()
    assert rule.value == "198.51.100.7"
    assert staff_client.get("/admin/trust/iphashkey/").status_code == 404


def test_people_without_staff_rights_cannot_reach_the_rules(client):
    response = client.get("/admin/trust/blockrule/")
    assert response.status_code == 302 and "/login/" in response["Location"]
