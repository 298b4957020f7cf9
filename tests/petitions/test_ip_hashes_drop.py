"""A signature's IP hashes are emptied after the fraud window, and their salts deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from petitions.models import Signature
from petitions.services.ip_hashes import signature_ip_hashes_drop
from petitions.tasks import signature_ip_hashes_drop as signature_ip_hashes_drop_task
from tests.factories import petition_create, signature_create
from trust.iphash import ip_hash_candidates, ip_hashes
from trust.models import IpHashKey

pytestmark = pytest.mark.django_db


def test_signing_stores_the_hashes_of_the_client_ip():
    petition = petition_create()
    signature = signature_create(petition=petition, client_ip="198.51.100.7")
    assert (signature.ip_hash, signature.ip_network_hash) == ip_hashes(ip="198.51.100.7")
    assert signature.ip_hash in ip_hash_candidates(ip="198.51.100.7")


def test_dropping_empties_old_hashes_deletes_old_keys_and_keeps_recent_ones(settings):
    settings.FRAUD_WINDOW_DAYS = 30
    settings.IP_HASH_ROTATE_DAYS = 7
    petition = petition_create()
    now = timezone.now()
    # A key from 35 days ago is still needed: it hashed signatures until 28 days ago, which
    # are kept for 2 days more. One from 38 days ago hashed nothing still kept.
    ancient = IpHashKey.objects.create(salt="a" * 64, created_at=now - timedelta(days=38))
    older = IpHashKey.objects.create(salt="o" * 64, created_at=now - timedelta(days=35))
    old = signature_create(petition=petition, client_ip="198.51.100.7")
    recent = signature_create(petition=petition, client_ip="198.51.100.8")
    Signature.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=31))
    Signature.objects.filter(pk=recent.pk).update(created_at=now - timedelta(days=29))
    recent_hashes = (recent.ip_hash, recent.ip_network_hash)

    assert signature_ip_hashes_drop_task.apply().get() == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.ip_hash, old.ip_network_hash) == ("", "")
    assert (recent.ip_hash, recent.ip_network_hash) == recent_hashes
    assert not IpHashKey.objects.filter(pk=ancient.pk).exists()
    assert IpHashKey.objects.filter(pk=older.pk).exists()
    # Safe to run again: nothing left to do.
    assert signature_ip_hashes_drop() == 0
