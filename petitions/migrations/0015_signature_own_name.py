import django_countries.fields
from django.db import migrations

import trust.crypto

_CHUNK = 1000


def signature_names_backfill(apps, schema_editor):
    """Existing confirmed signatures take the name and country their supporter holds now
    (the best record there is of what they gave); later confirmations set their own."""
    Signature = apps.get_model("petitions", "Signature")
    after = 0
    while True:
        rows = list(
            Signature.objects.filter(
                pk__gt=after, confirmed_at__isnull=False, supporter__isnull=False
            )
            .select_related("supporter")
            .order_by("pk")[:_CHUNK]
        )
        if not rows:
            break
        for row in rows:
            row.name = row.supporter.name
            row.country = row.supporter.country
        Signature.objects.bulk_update(rows, ["name", "country"])
        after = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("petitions", "0014_consent_updates_live"),
    ]

    operations = [
        migrations.AddField(
            model_name="signature",
            name="country",
            field=django_countries.fields.CountryField(
                blank=True, default="", max_length=2, verbose_name="country"
            ),
        ),
        migrations.AddField(
            model_name="signature",
            name="name",
            field=trust.crypto.EncryptedTextField(blank=True, default="", verbose_name="name"),
        ),
        migrations.RunPython(signature_names_backfill, migrations.RunPython.noop),
    ]
