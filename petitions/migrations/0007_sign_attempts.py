"""Sign attempts and anonymous tallies of flagged attempts (the tables; 0005 converts
the rows the old design stored, 0006 drops the per-signature code digest)."""

import uuid

import django.db.models.deletion
import django.utils.timezone
import django_countries.fields
from django.db import migrations, models

import trust.crypto


class Migration(migrations.Migration):
    dependencies = [
        ("petitions", "0006_supporter_email_drop_due"),
    ]

    operations = [
        migrations.AlterField(
            model_name="supporter",
            name="name",
            field=trust.crypto.EncryptedTextField(blank=True, verbose_name="name"),
        ),
        migrations.CreateModel(
            name="FlaggedAttemptTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("rate_limit", "too many from one place"),
                            ("blocklist", "blocklisted"),
                            ("disposable", "disposable address"),
                            ("automated", "automated submission"),
                            ("staff", "removed after review"),
                        ],
                        max_length=16,
                    ),
                ),
                ("detail", models.CharField(blank=True, max_length=32)),
                ("day", models.DateField()),
                ("count", models.PositiveIntegerField(default=0)),
                (
                    "petition",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="flagged_attempt_tallies",
                        to="petitions.petition",
                    ),
                ),
            ],
            options={
                "verbose_name": "flagged sign attempts",
                "verbose_name_plural": "flagged sign attempts",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("petition", "reason", "detail", "day"), name="flagged_tally_unique"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SignAttempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("email", trust.crypto.EncryptedTextField(blank=True)),
                ("name", trust.crypto.EncryptedTextField(blank=True)),
                ("country", django_countries.fields.CountryField(blank=True, max_length=2)),
                (
                    "display",
                    models.CharField(
                        choices=[
                            ("hidden", "Don't show my name"),
                            ("short", "First name and initial"),
                            ("full", "Full name"),
                        ],
                        default="hidden",
                        max_length=8,
                    ),
                ),
                ("consent_updates", models.BooleanField(default=False)),
                (
                    "language",
                    models.CharField(
                        choices=[("en", "English"), ("ru", "Russian")], default="en", max_length=8
                    ),
                ),
                ("source", models.CharField(blank=True, max_length=64)),
                ("medium", models.CharField(blank=True, max_length=64)),
                ("source_campaign", models.CharField(blank=True, max_length=64)),
                ("ip_hash", models.CharField(blank=True, editable=False, max_length=64)),
                ("ip_network_hash", models.CharField(blank=True, editable=False, max_length=64)),
                ("confirm_code", trust.crypto.EncryptedTextField(blank=True, editable=False)),
                ("confirm_code_digest", models.CharField(editable=False, max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("processed_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("confirmed_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "petition",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sign_attempts",
                        to="petitions.petition",
                    ),
                ),
                (
                    "signature",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sign_attempts",
                        to="petitions.signature",
                    ),
                ),
            ],
            options={
                "verbose_name": "sign attempt",
                "verbose_name_plural": "sign attempts",
                "indexes": [
                    models.Index(
                        condition=models.Q(("processed_at__isnull", True)),
                        fields=["created_at"],
                        name="sign_attempt_unprocessed",
                    ),
                    models.Index(fields=["created_at"], name="sign_attempt_created"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("petition", "confirm_code_digest"), name="sign_attempt_code_unique"
                    )
                ],
            },
        ),
    ]
