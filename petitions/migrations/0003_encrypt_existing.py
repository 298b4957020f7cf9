"""Encrypts supporters stored before field-level encryption, and dates closed petitions.

Raw SQL on purpose: the historical model's field already decrypts on read, and these rows
are still plaintext.
"""

from django.db import migrations
from django.utils import timezone


def encrypt_supporters(apps, schema_editor):
    from trust.identity import email_domain_digest
    from trust.crypto import encrypt

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, email, name FROM petitions_supporter")
        rows = cursor.fetchall()
        for pk, email, name in rows:
            cursor.execute(
                "UPDATE petitions_supporter SET email = %s, name = %s, email_domain_digest = %s "
                "WHERE id = %s",
                [encrypt(email) if email else "", encrypt(name), email_domain_digest(email), pk],
            )
    Petition = apps.get_model("petitions", "Petition")
    Petition.objects.filter(status="closed", closed_at__isnull=True).update(
        closed_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [("petitions", "0002_trust")]

    operations = [migrations.RunPython(encrypt_supporters, migrations.RunPython.noop)]
