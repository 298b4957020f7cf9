"""Typed codes now live on sign attempts (random, unique per petition): signatures no
longer keep a code digest. Apart from 0005 so that PostgreSQL alters the table in a
transaction of its own, after the rows were converted."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("petitions", "0008_sign_attempts_legacy_rows")]

    operations = [migrations.RemoveField(model_name="signature", name="confirm_code_digest")]
