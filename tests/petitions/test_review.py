"""None"""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from petitions import migrations, services
from petitions.models import Signature, Supporter
from petitions.selectors import person
from petitions.selectors.criteria import CriteriaError
from petitions.services import addresses
from tests.factories import petition_create, signature_create
from tests.petitions.review_helpers import BAD_IP, OTHER_IP
from trust import identity
from trust.models import IpHashKey

pytestmark = pytest.mark.django_db
NEIGHBOUR_IP = "203.0.113.99"


def found(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


# --- Finding ------------------------------------------------------------------------------


def test_an_address_finds_the_signatures_made_from_it_only(petition):
    mine = {signature_create(petition=petition, client_ip=BAD_IP).pk for _ in range(2)}
    signature_create(petition=petition, client_ip=NEIGHBOUR_IP)
    signature_create(petition=petition, client_ip=OTHER_IP)

    assert found(services.signatures_find(ip=BAD_IP)) == mine


def test_an_address_is_found_under_every_kept_key(petition):
    old = signature_create(petition=petition, client_ip=BAD_IP)
    # A new salt starts, as the rotation would make it: the same address hashes differently.
    IpHashKey.objects.update(created_at=timezone.now() - timedelta(days=8))
    from trust.iphash import ip_hash_key_cache_clear

    ip_hash_key_cache_clear()
    new = signature_create(petition=petition, client_ip=BAD_IP)

    assert IpHashKey.objects.count() == 2
    assert old.ip_hash != new.ip_hash
    assert found(services.signatures_find(ip=BAD_IP)) == {old.pk, new.pk}


def test_a_network_finds_every_address_in_it(petition):
    bad = signature_create(petition=petition, client_ip=BAD_IP)
    neighbour = signature_create(petition=petition, client_ip=NEIGHBOUR_IP)
    signature_create(petition=petition, client_ip=OTHER_IP)

    assert found(services.signatures_find(ip="203.0.113.0/24")) == {bad.pk, neighbour.pk}
    assert found(services.signatures_find(ip="203.0.113.1/24")) == {bad.pk, neighbour.pk}
    assert found(services.signatures_find(ip="203.0.0.0/16")) == {bad.pk, neighbour.pk}


def test_a_range_narrower_than_a_network_matches_single_addresses(petition):
    near = signature_create(petition=petition, client_ip="203.0.113.5")
    signature_create(petition=petition, client_ip="203.0.113.40")

    assert found(services.signatures_find(ip="203.0.113.0/29")) == {near.pk}


def test_a_domain_finds_its_signatures_whatever_the_case_of_the_address(petition):
    ours = {
        signature_create(petition=petition, email="anna@Bad-Domain.example").pk,
        signature_create(petition=petition, email="BORIS@bad-domain.example").pk,
    }
    signature_create(petition=petition, email="vera@good.example")

    assert found(services.signatures_find(domain="bad-domain.example")) == ours
    assert found(services.signatures_find(domain="@BAD-DOMAIN.example")) == ours


def test_a_registrable_domain_finds_its_subdomains_too(petition):
    ours = {
        signature_create(petition=petition, email=f"p{n}@{domain}").pk
        for n, domain in enumerate(["example.org", "mail.example.org", "deep.a.Example.ORG"])
    }
    signature_create(petition=petition, email="x@notexample.org")
    signature_create(petition=petition, email="y@example.org.evil.example")

    assert found(services.signatures_find(domain="example.org")) == ours
    # A subdomain finds itself only, never its parent or its siblings.
    mail_only = found(services.signatures_find(domain="mail.example.org"))
    assert len(mail_only) == 1 and mail_only < ours


def test_a_domain_under_a_two_label_public_suffix_groups_its_subdomains(petition):
    ours = {
        signature_create(petition=petition, email="a@example.co.uk").pk,
        signature_create(petition=petition, email="b@mail.example.co.uk").pk,
    }
    other = signature_create(petition=petition, email="c@other.co.uk").pk

    assert found(services.signatures_find(domain="example.co.uk")) == ours
    # A public suffix is nobody's domain: it finds no one under it.
    assert found(services.signatures_find(domain="co.uk")) == set()
    assert found(services.signatures_find(domain="other.co.uk")) == {other}


def test_the_registrable_domain_is_stored_only_as_a_keyed_hash(petition):
    signature = signature_create(petition=petition, email="anna@mail.example.org")
    supporter = Supporter.objects.get(signatures=signature)
    assert supporter.email_registrable_digest == identity.email_domain_digest("example.org")
    assert supporter.email_domain_digest == identity.email_domain_digest("mail.example.org")
    # Every column but the encrypted address (which .values() reads decrypted).
    stored = Supporter.objects.filter(pk=supporter.pk).values().get()
    assert not any("example" in str(value) for key, value in stored.items() if key != "email")


def test_a_signers_download_includes_the_registrable_domain_hash(petition):
    signature = signature_create(petition=petition, email="anna@mail.example.org")
    supporter = Supporter.objects.get(signatures=signature)
    exported = person.supporter_data_export(supporter=supporter)["supporter"]
    assert exported["email_registrable_domain_keyed_hash"] == supporter.email_registrable_digest


def test_a_signer_whose_address_was_dropped_before_the_registrable_hash_is_found_by_exact_domain(
    petition,
):
    # Rows from before the field: the address already gone, so nothing could fill it.
    signature = signature_create(petition=petition, email="anna@mail.example.org")
    Supporter.objects.filter(signatures=signature).update(
        email="", email_dropped_at=timezone.now(), email_registrable_digest=""
    )

    assert found(services.signatures_find(domain="example.org")) == set()
    assert found(services.signatures_find(domain="mail.example.org")) == {signature.pk}


def test_an_address_typed_again_gets_its_registrable_hash_back(petition):
    signature = signature_create(petition=petition, email="anna@mail.example.org")
    Supporter.objects.filter(signatures=signature).update(
        email="", email_dropped_at=timezone.now(), email_registrable_digest=""
    )
    supporter = Supporter.objects.get(signatures=signature)

    assert addresses.supporter_email_restore(supporter=supporter, email="anna@mail.example.org")

    assert found(services.signatures_find(domain="example.org")) == {signature.pk}


def test_the_data_migration_fills_the_registrable_hash_where_the_address_is_kept(petition):
    kept = signature_create(petition=petition, email="anna@mail.example.org")
    dropped = signature_create(petition=petition, email="boris@mx.example.org")
    Supporter.objects.update(email_registrable_digest="")
    Supporter.objects.filter(signatures=dropped).update(email="", email_dropped_at=timezone.now())
    [path] = Path(migrations.__file__).parent.glob("*_supporter_registrable_domain.py")
    migration = importlib.import_module(f"petitions.migrations.{path.stem}")

    migration.fill_registrable_digests(django_apps, None)

    digests = dict(Supporter.objects.values_list("signatures", "email_registrable_digest"))
    assert digests[kept.pk] == identity.email_domain_digest("example.org")
    assert digests[dropped.pk] == ""


def test_a_time_window_includes_its_start_and_excludes_its_end(petition):
    now = timezone.now()
    early, inside, late = (signature_create(petition=petition) for _ in range(3))
    Signature.objects.filter(pk=early.pk).update(created_at=now - timedelta(hours=3))
    Signature.objects.filter(pk=inside.pk).update(created_at=now - timedelta(hours=2))
    Signature.objects.filter(pk=late.pk).update(created_at=now - timedelta(hours=1))

    window = services.signatures_find(
        created_from=now - timedelta(hours=2), created_to=now - timedelta(hours=1)
    )

    assert found(window) == {inside.pk}


def test_criteria_combine_and_a_status_narrows_them(petition):
    other = petition_create(campaign=petition.campaign)
    confirmed = signature_create(petition=petition, client_ip=BAD_IP, confirmed=True)
    signature_create(petition=petition, client_ip=BAD_IP)
    signature_create(petition=other, client_ip=BAD_IP, confirmed=True)

    result = services.signatures_find(petition=petition, ip=BAD_IP, status="confirmed")

    assert found(result) == {confirmed.pk}


def test_a_hash_finds_by_address_hash_network_hash_or_domain_digest(petition):
    signature = signature_create(petition=petition, client_ip=BAD_IP, email="a@mx.hash.example")
    signature_create(petition=petition, client_ip=OTHER_IP)
    digest = signature.supporter.email_domain_digest
    registrable = signature.supporter.email_registrable_digest

    for value in (signature.ip_hash, signature.ip_network_hash.upper(), digest, registrable):
        assert found(services.signatures_find(ip_hash=value)) == {signature.pk}


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"ip": "not an address"}, "is not an IP address"),
        ({"ip": "999.1.1.1"}, "is not an IP address"),
        ({"ip": "10.0.0.0/8"}, "too wide"),
        ({"ip": "2001:db8::/64"}, "whole network"),
        ({"ip_hash": "xyz"}, "hexadecimal"),
        ({"domain": "no spaces allowed.org x"}, "is not a domain"),
        ({"domain": "localhost"}, "is not a domain"),
    ],
)
def test_unusable_criteria_are_refused_with_a_message_for_staff(criteria, message):
    with pytest.raises(CriteriaError, match=message):
        services.signatures_find(**criteria)
