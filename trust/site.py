"""Writes for the site-wide switches (``SiteSettings``)."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

from trust.models import SiteSettings
from trust.selectors import SITE_SETTINGS_CACHE_KEY


def site_settings_update(*, signing_paused: bool, pause_message: str) -> SiteSettings:
    """Pause or resume all signing, with the message shown meanwhile ("" for the standard one).

    Takes effect on the next request in every process that shares the cache.
    """
    with transaction.atomic():
        row, _ = SiteSettings.objects.select_for_update().get_or_create(pk=1)
        row.signing_paused = signing_paused
        row.pause_message = pause_message.strip()
        row.save()
        # Cleared now for this process's next read, and again after commit: a request that
        # read the old row while this transaction was open may have cached it meanwhile.
        cache.delete(SITE_SETTINGS_CACHE_KEY)
        transaction.on_commit(lambda: cache.delete(SITE_SETTINGS_CACHE_KEY))
    return row
