"""Signatures, the sign attempts that lead to them, anonymous tallies of flagged attempts,
and staff invalidations."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from petitions.models.people import Supporter
from petitions.models.petitions import Petition
from trust.crypto import EncryptedTextField


class Signature(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        INVALIDATED = "invalidated", _("Invalidated")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Display(models.TextChoices):
        HIDDEN = "hidden", _("Don't show my name")
        SHORT = "short", _("First name and initial")
        FULL = "full", _("Full name")

    class InvalidReason(models.TextChoices):
        # Found automatically when signing: such attempts leave no signature, only a
        # FlaggedAttemptTally with the reason (migration 0005 turned older rows into tallies).
        RATE_LIMIT = "rate_limit", _("too many from one place")
        BLOCKLIST = "blocklist", _("blocklisted")
        DISPOSABLE = "disposable", _("disposable address")
        AUTOMATED = "automated", _("automated submission")
        # Set by staff after review.
        STAFF = "staff", _("removed after review")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    petition = models.ForeignKey(Petition, on_delete=models.PROTECT, related_name="signatures")
    # Null once the signature is anonymised (retention, lockdown, erasure): the row stays so
    # that counts and the integrity line stay true, but it no longer points to a person.
    supporter = models.ForeignKey(
        Supporter, on_delete=models.SET_NULL, null=True, blank=True, related_name="signatures"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    display = models.CharField(max_length=8, choices=Display.choices, default=Display.HIDDEN)
    # The name and country the person gave on THIS signature, set when they confirm it
    # (a Supporter's own name is whatever they confirmed last, anywhere): an organisation
    # sees only what was given to it. Encrypted at rest; emptied when the signature is
    # anonymised (retention, lockdown, withdrawal, erasure).
    name = EncryptedTextField(_("name"), blank=True, default="")
    country = CountryField(_("country"), blank=True, default="")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    created_at = models.DateTimeField(default=timezone.now)
    # When the latest confirmation email was queued: the typed code expires relative to it.
    confirmation_requested_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # When we last emailed about this signature; limits repeat mail to one per interval.
    emailed_at = models.DateTimeField(default=timezone.now)
    # Confirmation emails queued for this signature: the first, resends for repeat sign
    # attempts and reminders; capped at SBOR_CONFIRM_EMAILS_MAX (anyone can type an
    # address, so a stranger's inbox gets a bounded number of them).
    confirm_emails_sent = models.PositiveSmallIntegerField(default=0, editable=False)
    # Reminders queued so far (at most one per delay in SBOR_CONFIRM_REMINDER_DELAYS); the
    # reminder task claims the next one by a conditional update of this number.
    reminders_sent = models.PositiveSmallIntegerField(default=0, editable=False)
    # True once the count task has added this confirmed signature to Petition.signature_count.
    counted = models.BooleanField(default=False, editable=False)
    # Where the signer came from (share links and campaigns carry utm_* or ref).
    source = models.CharField(max_length=64, blank=True)
    medium = models.CharField(max_length=64, blank=True)
    source_campaign = models.CharField(max_length=64, blank=True)
    # Keyed hashes of the client IP and its network (/24 or /48), under the IP hash key of
    # the day it was signed; emptied after the fraud window (SBOR_FRAUD_WINDOW_DAYS).
    ip_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    ip_network_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    invalid_reason = models.CharField(
        max_length=16, choices=InvalidReason.choices, blank=True, editable=False
    )
    # Which rule matched (e.g. "ip_burst", "domain", "honeypot"): for staff review.
    invalid_detail = models.CharField(max_length=32, blank=True, editable=False)
    invalidated_at = models.DateTimeField(null=True, blank=True, editable=False)
    invalidation = models.ForeignKey(
        "InvalidationBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signatures",
        editable=False,
    )

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        constraints = [
            # The database decides duplicates: simultaneous submissions make one signature.
            models.UniqueConstraint(
                fields=["petition", "supporter"], name="signature_one_per_supporter"
            ),
        ]
        indexes = [
            # The count task's work list stays small however large the table grows.
            models.Index(
                fields=["petition"],
                name="signature_uncounted",
                condition=models.Q(status="confirmed", counted=False),
            ),
            # "Recent signatures" reads only public, confirmed rows: a partial index keeps that
            # a short index scan however many hidden signers a petition has.
            # The integrity task groups by status per petition; staff search by time window.
            models.Index(fields=["petition", "status"], name="signature_petition_status"),
            models.Index(fields=["created_at"], name="signature_created"),
            # The sweep that deletes pending signatures past their link's lifetime runs
            # every minute: it reads only the (few) pending rows.
            models.Index(
                fields=["confirmation_requested_at"],
                name="signature_pending",
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["petition", "-confirmed_at"],
                name="signature_public_recent",
                condition=models.Q(status="confirmed") & ~models.Q(display="hidden"),
            ),
        ]

    def __str__(self) -> str:
        return f"signature {self.public_id}"


class SignAttempt(models.Model):
    """One submission of the sign form or API, with what was typed, until it is confirmed.

    Signing writes this row and nothing else, whoever the address belongs to, so a request
    does the same work for an address that has signed and one that has not; a task then
    finds or makes the supporter and the signature (``sign_attempt_process``). The
    confirmation email carries this attempt's own link and code, and the name, country and
    display choice typed here reach the supporter and the signature only when this attempt
    is confirmed. Attempts are deleted once their link expires; a confirmed one keeps no
    name or address (it stays only so that a second click on its link says "confirmed").
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="sign_attempts")
    # Set by the task: the pending signature this attempt may confirm.
    signature = models.ForeignKey(
        Signature,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sign_attempts",
        editable=False,
    )
    email = EncryptedTextField(blank=True)
    name = EncryptedTextField(blank=True)
    country = CountryField(blank=True)
    display = models.CharField(
        max_length=8, choices=Signature.Display.choices, default=Signature.Display.HIDDEN
    )
    consent_updates = models.BooleanField(default=False)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    source = models.CharField(max_length=64, blank=True)
    medium = models.CharField(max_length=64, blank=True)
    source_campaign = models.CharField(max_length=64, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True, editable=False)
    ip_network_hash = models.CharField(max_length=64, blank=True, editable=False)
    # The typed code, random: in clear (encrypted) for the email, keyed hash for look-ups.
    confirm_code = EncryptedTextField(blank=True, editable=False)
    confirm_code_digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    # When the task handled it; attempts still unhandled after a while are swept up.
    processed_at = models.DateTimeField(null=True, blank=True, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("sign attempt")
        verbose_name_plural = _("sign attempts")
        constraints = [
            # A typed code names one attempt on its petition, never two: a collision is
            # refused here and a new code drawn, so a code cannot confirm someone else.
            models.UniqueConstraint(
                fields=["petition", "confirm_code_digest"], name="sign_attempt_code_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="sign_attempt_unprocessed",
                condition=models.Q(processed_at__isnull=True),
            ),
            models.Index(fields=["created_at"], name="sign_attempt_created"),
        ]

    def __str__(self) -> str:
        return f"sign attempt {self.public_id}"

    def signature_fields(self) -> dict[str, str]:
        """What this attempt decides on its signature when it makes or confirms it."""
        return {
            "display": self.display,
            "language": self.language,
            "source": self.source,
            "medium": self.medium,
            "source_campaign": self.source_campaign,
            "ip_hash": self.ip_hash,
            "ip_network_hash": self.ip_network_hash,
        }


class FlaggedAttemptTally(models.Model):
    """How many sign attempts on a petition were flagged, per reason, rule and day.

    A flagged attempt (honeypot, rate limit, block rule, disposable domain) stores nothing
    about a person: only this counter moves, and it moves the same way whether or not
    the address typed has signed, so the integrity line cannot tell them apart.
    """

    petition = models.ForeignKey(
        Petition, on_delete=models.CASCADE, related_name="flagged_attempt_tallies"
    )
    reason = models.CharField(max_length=16, choices=Signature.InvalidReason.choices)
    # Which rule matched (e.g. "ip_burst", "domain", "honeypot"): for staff review.
    detail = models.CharField(max_length=32, blank=True)
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("flagged sign attempts")
        verbose_name_plural = _("flagged sign attempts")
        constraints = [
            models.UniqueConstraint(
                fields=["petition", "reason", "detail", "day"], name="flagged_tally_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count} x {self.reason}/{self.detail} on {self.day}"


class InvalidationBatch(models.Model):
    """One staff decision to invalidate signatures by criteria: who, why, what, how many.

    ``organisation`` is set when an organisation's owner made it in the workspace: its
    criteria were confined to that organisation, and only its owners see and undo it there.
    Batches made in the admin have none.
    """

    class Category(models.TextChoices):
        DUPLICATES = "duplicates", _("duplicate or fake signers")
        AUTOMATED = "automated", _("automated submissions")
        ABUSE = "abuse", _("abuse or fraud")
        TEST = "test", _("test signatures")
        OTHER = "other", _("other")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "campaigns.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices, blank=True)
    reason = models.TextField(_("reason"))
    # The criteria as staff gave them (petition, IP hash, domain digest, time window);
    # never a raw IP or address.
    criteria = models.JSONField(default=dict)
    count = models.PositiveIntegerField(default=0)
    revalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invalidation")
        verbose_name_plural = _("invalidations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invalidation {self.created_at:%Y-%m-%d %H:%M} ({self.count})"
