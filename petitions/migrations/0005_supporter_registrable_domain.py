"""A keyed hash of each supporter's registrable domain, so that staff searching for
``domain:example.org`` find ``mail.example.org`` too.

The data step can only fill it where the address is still stored: a hash of a domain
cannot be turned into the hash of its parent. Supporters whose address was already
dropped keep an empty field and are found by their exact domain only (their
``email_domain_digest``), until they sign again.
"""

from django.db import migrations, models


def fill_registrable_digests(apps, schema_editor):
    from trust.identity import email_registrable_digest

    Supporter = apps.get_model("petitions", "Supporter")
    after = 0
    while True:
        # The historical field decrypts on read; encrypted values cannot be filtered on.
        rows = list(
            Supporter.objects.filter(pk__gt=after).order_by("pk").values_list("pk", "email")[:500]
        )
        for pk, email in rows:
            if email:
                Supporter.objects.filter(pk=pk).update(
                    email_registrable_digest=email_registrable_digest(email)
                )
        if len(rows) < 500:
            break
        after = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("petitions", "0004_manage_link_requests")]

    operations = [
        migrations.AddField(
            model_name="supporter",
            name="email_registrable_digest",
            field=models.CharField(
                db_default="", db_index=True, default="", editable=False, max_length=64
            ),
        ),
        migrations.RunPython(fill_registrable_digests, migrations.RunPython.noop),
    ]
