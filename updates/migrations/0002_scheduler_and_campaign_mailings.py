"""Whose right a scheduled update is sent on, and the campaign in each update mailing's
``about`` (so that petitions can delete a campaign's deliveries when its people leave).

Updates scheduled before this run on their author's right; mailings made before name their
campaign now. Reversing keeps both (they do no harm to the older code).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _forwards(apps, schema_editor):
    Update = apps.get_model("updates", "Update")
    Mailing = apps.get_model("mailer", "Mailing")
    for update in Update.objects.filter(status="scheduled", scheduled_by__isnull=True):
        Update.objects.filter(pk=update.pk).update(scheduled_by_id=update.created_by_id)
    campaigns = dict(
        Update.objects.exclude(mailing=None).values_list("mailing_id", "campaign_id")
    )
    for mailing in Mailing.objects.filter(pk__in=list(campaigns)):
        about = dict(mailing.about or {})
        if "campaign" not in about:
            about["campaign"] = str(campaigns[mailing.pk])
            Mailing.objects.filter(pk=mailing.pk).update(about=about)


class Migration(migrations.Migration):

    dependencies = [
        ('updates', '0001_initial'),
        ('mailer', '0007_mailing_removed_counts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='update',
            name='scheduled_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='update',
            name='unscheduled_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='update',
            name='unscheduled_reason',
            field=models.CharField(blank=True, choices=[('scheduler_not_allowed', "the member who scheduled it may no longer send this organisation's updates")], editable=False, max_length=32),
        ),
        migrations.AlterField(
            model_name='update',
            name='body',
            field=models.TextField(max_length=20000, verbose_name='message (Markdown)'),
        ),
        migrations.RunPython(_forwards, migrations.RunPython.noop),
    ]
