"""Migration 0010 re-hashes stored addresses whose domain IDNA 2003 and 2008 spell apart."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.migrations import latest, migrate
from trust import identity

BEFORE = [("petitions", "0010_signature_pending_expiry")]
AFTER = [("petitions", "0011_email_domains_idna2008")]


@pytest.fixture(autouse=True)
def _back_to_latest() -> Iterator[None]:
    """The tests after these expect today's schema, whatever migrations came after 0011."""
    yield
    migrate(latest())


def old_digest(email: str) -> str:
    """The digest as the IDNA 2003 codec made it (ß → ss)."""
    local, _, domain = email.rpartition("@")
    normalised = f"{local.lower()}@{domain.lower().encode('idna').decode()}"
    return hmac.new(
        settings.SBOR_LOOKUP_KEY.encode(), normalised.encode(), hashlib.sha256
    ).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_stored_lookalike_addresses_get_their_own_digest_and_dropped_ones_keep_theirs() -> None:
    old = migrate(BEFORE)
    Supporter = old.get_model("petitions", "Supporter")
    stored = Supporter.objects.create(
        email_digest=old_digest("anna@freerußia.org"), email="anna@freerußia.org"
    )
    dropped = Supporter.objects.create(email_digest=old_digest("boris@freerußia.org"), email="")
    plain = Supporter.objects.create(
        email_digest=identity.email_digest("vera@example.org"), email="vera@example.org"
    )
    assert stored.email_digest == identity.email_digest("anna@freerussia.org")  # the bug

    new = migrate(AFTER)

    Supporter = new.get_model("petitions", "Supporter")
    stored = Supporter.objects.get(pk=stored.pk)
    assert stored.email == "anna@xn--freeruia-vya.org"
    assert stored.email_digest == identity.email_digest("anna@freerußia.org")
    assert stored.email_digest != identity.email_digest("anna@freerussia.org")
    assert stored.email_domain_digest == identity.email_domain_digest("xn--freeruia-vya.org")
    assert Supporter.objects.get(pk=dropped.pk).email_digest == old_digest("boris@freerußia.org")
    assert Supporter.objects.get(pk=plain.pk).email_digest == plain.email_digest


@pytest.mark.django_db(transaction=True)
def test_a_row_whose_new_digest_is_taken_becomes_unmatchable() -> None:
    old = migrate(BEFORE)
    Supporter = old.get_model("petitions", "Supporter")
    punycode = Supporter.objects.create(
        email_digest=identity.email_digest("anna@xn--freeruia-vya.org"),
        email="anna@xn--freeruia-vya.org",
    )
    unicode_row = Supporter.objects.create(
        email_digest=old_digest("anna@freerußia.org"), email="anna@freerußia.org"
    )

    new = migrate(AFTER)

    Supporter = new.get_model("petitions", "Supporter")
    assert Supporter.objects.get(pk=punycode.pk).email_digest == punycode.email_digest
    assert Supporter.objects.get(pk=unicode_row.pk).email_digest == f"idna2003:{unicode_row.pk}"
