"""Fraud-resistance state: IP-hash keys, blocklists and the site-wide signing switch."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IpHashKey(models.Model):
    """A random salt that, with ``SBOR_IP_HASH_KEY``, keys the IP hashes of one period.

    Deleting the salt after the fraud window makes the old hashes unlinkable to any
    address, even for someone who holds the secret (IPv4 is small enough to brute-force
    a hash whose key is known).
    """

    salt = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("IP hash key")
        verbose_name_plural = _("IP hash keys")

    def __str__(self) -> str:
        return f"IP hash key {self.pk} ({self.created_at:%Y-%m-%d})"


class BlockRule(models.Model):
    """Signatures matching a rule are accepted quietly and marked fraudulent."""

    class Kind(models.TextChoices):
        IP = "ip", _("IP address")
        NETWORK = "network", _("Network (CIDR)")
        DOMAIN = "domain", _("Email domain")
        ADDRESS = "address", _("Email address")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # IP, CIDR network or domain as entered (normalised). For an address only its keyed
    # hash is kept: a blocklist must not become a list of people's addresses.
    value = models.CharField(_("value"), max_length=254)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("block rule")
        verbose_name_plural = _("block rules")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="blockrule_unique"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.ADDRESS:
            # The value is a keyed hash: meaningless to staff, and not to be spread around.
            return str(_("Email address (hashed)"))
        return f"{self.get_kind_display()}: {self.value}"


class SiteSettings(models.Model):
    """One row (pk=1): switches that act on the whole site."""

    signing_paused = models.BooleanField(_("pause all signing"), default=False)
    pause_message = models.TextField(
        _("message shown while signing is paused"),
        blank=True,
        help_text=_("Leave empty for the standard message in the visitor's language."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("site settings")
        verbose_name_plural = _("site settings")

    def __str__(self) -> str:
        return str(_("Site settings"))
