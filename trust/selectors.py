"""Reads for trust and safety state. The site switch is read on every page with a sign form,
so it comes from the cache, not the database."""

from __future__ import annotations

from django.core.cache import cache
from django.utils.translation import gettext

from trust.models import SiteSettings

SITE_SETTINGS_CACHE_KEY = "trust:site-settings"
# Saving clears the key at once (trust.site.site_settings_update); the timeout only bounds
# how long a per-process cache (no Redis) or a write that bypassed the service stays stale.
SITE_SETTINGS_CACHE_SECONDS = 60


def site_settings_get() -> SiteSettings:
    """The site's switches: the one ``SiteSettings`` row (pk=1), or its defaults (unsaved)
    until staff first save it (``trust.site.site_settings_update``).

    Served from the cache, so a page view costs no query. The cache holds plain values, not
    a pickled model, so it survives a Django upgrade between deploys.
    """
    cached = cache.get(SITE_SETTINGS_CACHE_KEY)
    if isinstance(cached, tuple) and len(cached) == 2:
        signing_paused, pause_message = cached
        return SiteSettings(pk=1, signing_paused=signing_paused, pause_message=pause_message)
    # A read never writes: a missing row reads as the defaults (signing open).
    row = SiteSettings.objects.filter(pk=1).first() or SiteSettings(pk=1)
    cache.set(
        SITE_SETTINGS_CACHE_KEY,
        (row.signing_paused, row.pause_message),
        SITE_SETTINGS_CACHE_SECONDS,
    )
    return row


def signing_pause_message() -> str:
    """What to show instead of the sign form while signing is paused; "" while it is not.

    Staff may write their own message; otherwise a standard one in the reader's language.
    """
    site = site_settings_get()
    if not site.signing_paused:
        return ""
    return site.pause_message.strip() or gettext(
        "Signing is paused for a while. Please come back later."
    )
