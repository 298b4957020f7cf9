"""The person: a supporter (one normalised address across all petitions), their consents,
and their requests for a manage link."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from campaigns.models import Campaign
from trust.crypto import EncryptedTextField
from trust.identity import email_registrable_digest


class Supporter(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Keyed hash (HMAC) of the normalised address: de-duplication and look-ups use this,
    # never the address itself.
    email_digest = models.CharField(max_length=64, unique=True, editable=False)
    # Keyed hash of the address's domain: per-domain search and review without the address.
    email_domain_digest = models.CharField(max_length=64, db_index=True, default="", editable=False)
    # The same keyed hash of its registrable domain (a.example.co.uk → example.co.uk), so a
    # search for a domain finds its subdomains too. Kept in step with ``email`` by save();
    # empty on rows whose address was dropped before this field existed.
    email_registrable_digest = models.CharField(
        max_length=64, db_index=True, default="", db_default="", editable=False
    )
    # As typed; mail goes here. Encrypted at rest. Emptied once no mail is due and the
    # person gave no consent to updates (``email_dropped_at`` says when).
    email = EncryptedTextField(_("email"), blank=True)
    email_dropped_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When their last signature was withdrawn: someone with no signature left is deleted a
    # few days later (erasure.supporters_unlinked_delete) unless they sign again.
    unlinked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set on confirming: the address may be droppable now. A frequent periodic task looks at
    # the marked supporters in batches (one UPDATE per confirmation, no task per person).
    email_drop_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The name and country typed in the sign attempt this person last confirmed; empty
    # until they confirm one, so a stranger typing their address never decides them.
    name = EncryptedTextField(_("name"), blank=True)
    country = CountryField(_("country"), blank=True)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("supporter")
        verbose_name_plural = _("supporters")
        indexes = [
            # Only the few marked rows are in it: the periodic task finds them at once.
            models.Index(
                fields=["email_drop_due_at"],
                condition=models.Q(email_drop_due_at__isnull=False),
                name="supporter_email_drop_due",
            )
        ]

    def __str__(self) -> str:
        return f"supporter {self.public_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Derived from the address whenever one is written, however the caller builds the
        # row; an address dropped later leaves the digest in place, as it does the domain's.
        if self.email:
            self.email_registrable_digest = email_registrable_digest(self.email)
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "email" in update_fields:
                kwargs["update_fields"] = {*update_fields, "email_registrable_digest"}
        super().save(*args, **kwargs)


class Consent(models.Model):
    """A person's permission for one purpose, with the exact wording they agreed to."""

    class Purpose(models.TextChoices):
        CAMPAIGN_UPDATES = "campaign_updates", _("Updates on a campaign")

    class Method(models.TextChoices):
        SIGN_FORM = "sign_form", _("Sign form checkbox")

    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="consents")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="consents")
    # By name: signatures.py imports this module for Signature.supporter.
    signature = models.ForeignKey(
        "petitions.Signature",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consents",
    )
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    method = models.CharField(max_length=32, choices=Method.choices)
    wording_version = models.CharField(max_length=32)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    given_at = models.DateTimeField(default=timezone.now)
    # Double opt-in: consent takes effect only once the email address is confirmed.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["supporter", "campaign", "purpose"], name="consent_one_per_purpose"
            ),
        ]
        indexes = [
            # The audience of a campaign's updates, walked by supporter id in chunks
            # (petitions.selectors.audience): each chunk reads only live consents.
            models.Index(
                fields=["campaign", "supporter"],
                name="consent_updates_live",
                condition=models.Q(
                    purpose="campaign_updates",
                    confirmed_at__isnull=False,
                    withdrawn_at__isnull=True,
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"consent {self.purpose} v{self.wording_version}"


class ManageLinkRequest(models.Model):
    """Someone asked "/manage/" for a link; a task answers it (or finds nobody to answer).

    The request writes this row and enqueues one task whatever the address, so the work
    done while the person waits never depends on whether the address has signed. The row
    lives for seconds: the task deletes it as it claims it, and a periodic sweep answers
    rows whose task was lost and deletes those too old to answer.
    """

    # As typed (mail goes to it if it belongs to a supporter whose address was dropped).
    email = EncryptedTextField()
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"manage link request {self.pk}"
