"""The end of signers' IP hashes: emptied after the fraud window, then their salts deleted.

The hashes are petitions' rows; the salts are trust's (``trust.iphash``), which deletes
those no kept hash needs once this has emptied the old ones.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from petitions.models import Signature
from trust.iphash import ip_hash_keys_drop


def signature_ip_hashes_drop() -> int:
    """Empty the IP hashes of signatures older than the fraud window, then delete the salts
    behind them. Safe to run at any time and any number of times; returns how many
    signatures lost their hashes.
    """
    cutoff = timezone.now() - timedelta(days=settings.FRAUD_WINDOW_DAYS)
    changed = (
        Signature.objects.filter(created_at__lt=cutoff)
        .filter(~Q(ip_hash="") | ~Q(ip_network_hash=""))
        .update(ip_hash="", ip_network_hash="")
    )
    ip_hash_keys_drop(hashes_emptied_before=cutoff)
    return changed
