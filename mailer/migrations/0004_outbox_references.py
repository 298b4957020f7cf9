"""The outbox stops pointing at petitions' tables: recipients and subjects become references.

The mailer sits below the feature apps and must not depend on their models. Each row's
supporter becomes ``recipient_ref`` ("petitions.supporter:<id>") and its petition,
signature and sign attempt become ``about`` ({"petition": id, ...}); petitions' builders
read them back at send time. Reversible: going back restores the foreign keys from the
references (and drops rows whose supporter no longer exists, as the cascade would have).
"""

import django.db.models.deletion
from django.db import migrations, models

import mailer.models

_SUPPORTER_REF = "petitions.supporter:"
_ABOUT = ("petition", "signature", "sign_attempt")
_BATCH = 1000


def references_fill(apps, schema_editor):
    OutboxMessage = apps.get_model("mailer", "OutboxMessage")
    rows = OutboxMessage.objects.order_by("pk").only(
        "pk", "supporter_id", "petition_id", "signature_id", "sign_attempt_id"
    )
    batch = []
    for message in rows.iterator(chunk_size=_BATCH):
        message.recipient_ref = f"{_SUPPORTER_REF}{message.supporter_id}"
        message.about = {
            key: str(getattr(message, f"{key}_id"))
            for key in _ABOUT
            if getattr(message, f"{key}_id") is not None
        }
        batch.append(message)
        if len(batch) >= _BATCH:
            OutboxMessage.objects.bulk_update(batch, ["recipient_ref", "about"])
            batch = []
    if batch:
        OutboxMessage.objects.bulk_update(batch, ["recipient_ref", "about"])


def references_unfill(apps, schema_editor):
    OutboxMessage = apps.get_model("mailer", "OutboxMessage")
    models_of = {
        "supporter": apps.get_model("petitions", "Supporter"),
        "petition": apps.get_model("petitions", "Petition"),
        "signature": apps.get_model("petitions", "Signature"),
        "sign_attempt": apps.get_model("petitions", "SignAttempt"),
    }
    orphans = []
    batch = []
    for message in OutboxMessage.objects.order_by("pk").iterator(chunk_size=_BATCH):
        prefix, _, supporter_id = message.recipient_ref.partition(":")
        ids = {"supporter": int(supporter_id) if supporter_id.isdigit() else None}
        if f"{prefix}:" != _SUPPORTER_REF:
            ids["supporter"] = None
        ids |= {
            key: int(message.about[key]) if str(message.about.get(key, "")).isdigit() else None
            for key in _ABOUT
        }
        # A foreign key may only point at a row that exists.
        for key, pk in ids.items():
            if pk is not None and not models_of[key].objects.filter(pk=pk).exists():
                ids[key] = None
        if ids["supporter"] is None:
            orphans.append(message.pk)
            continue
        for key, pk in ids.items():
            setattr(message, f"{key}_id", pk)
        batch.append(message)
    OutboxMessage.objects.filter(pk__in=orphans).delete()
    OutboxMessage.objects.bulk_update(
        batch, [f"{key}_id" for key in ("supporter", *_ABOUT)], batch_size=_BATCH
    )


class Migration(migrations.Migration):
    dependencies = [
        ("mailer", "0003_outbox_sign_attempt"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="about",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="recipient_ref",
            field=models.CharField(db_index=True, default="", max_length=100),
            preserve_default=False,
        ),
        # Nullable first, so that going back can add it empty and fill it before it is
        # required again.
        migrations.AlterField(
            model_name="outboxmessage",
            name="supporter",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="outbox_messages",
                to="petitions.supporter",
            ),
        ),
        migrations.RunPython(references_fill, references_unfill, elidable=True),
        migrations.RemoveField(model_name="outboxmessage", name="petition"),
        migrations.RemoveField(model_name="outboxmessage", name="sign_attempt"),
        migrations.RemoveField(model_name="outboxmessage", name="signature"),
        migrations.RemoveField(model_name="outboxmessage", name="supporter"),
        migrations.AlterField(
            model_name="outboxmessage",
            name="kind",
            field=models.CharField(max_length=40),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                mailer.models.AboutKey("petition"),
                name="outbox_about_petition",
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                mailer.models.AboutKey("signature"),
                name="outbox_about_signature",
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                mailer.models.AboutKey("sign_attempt"),
                name="outbox_about_sign_attempt",
            ),
        ),
    ]
