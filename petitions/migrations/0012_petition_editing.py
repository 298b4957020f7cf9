"""Petitions edited by organisers: the target in three parts, the goal, "won", the target's
response, and paper signatures in batches.

``target`` becomes ``target_name`` (renamed in place: every petition keeps its text; the
position and organisation start empty). A petition whose ``paper_count`` was set before
batches existed gets one batch holding that total, with no collector and no organiser, so
the total always equals the sum of its batches.
"""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


def paper_totals_to_batches(apps, schema_editor):
    Petition = apps.get_model("petitions", "Petition")
    PaperBatch = apps.get_model("petitions", "PaperBatch")
    for petition in Petition.objects.filter(paper_count__gt=0).order_by("pk"):
        PaperBatch.objects.create(
            petition=petition,
            count=petition.paper_count,
            collected_by="",
            collected_on=petition.created_at.date(),
        )


def paper_batches_to_totals(apps, schema_editor):
    """Backwards: the totals stay on the petitions; the batches go with their table."""


class Migration(migrations.Migration):

    dependencies = [
        ('petitions', '0011_email_domains_idna2008'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PaperBatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('count', models.PositiveIntegerField(verbose_name='number of signatures')),
                ('collected_by', models.CharField(blank=True, max_length=200, verbose_name='collected by')),
                ('collected_on', models.DateField(verbose_name='collected on')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'verbose_name': 'paper batch',
                'verbose_name_plural': 'paper batches',
                'ordering': ['-collected_on', '-created_at'],
            },
        ),
        migrations.RenameField(
            model_name='petition',
            old_name='target',
            new_name='target_name',
        ),
        migrations.AddField(
            model_name='petition',
            name='goal_fixed',
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name='fixed goal'),
        ),
        migrations.AddField(
            model_name='petition',
            name='goal_kind',
            field=models.CharField(choices=[('ladder', 'Next step up as signatures grow'), ('fixed', 'A fixed number')], default='ladder', max_length=16, verbose_name='goal'),
        ),
        migrations.AddField(
            model_name='petition',
            name='response_date',
            field=models.DateField(blank=True, null=True, verbose_name='date of the response'),
        ),
        migrations.AddField(
            model_name='petition',
            name='response_recorded_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='petition',
            name='response_text',
            field=models.TextField(blank=True, verbose_name="the target's response"),
        ),
        migrations.AddField(
            model_name='petition',
            name='target_organisation',
            field=models.CharField(blank=True, max_length=200, verbose_name='their organisation'),
        ),
        migrations.AddField(
            model_name='petition',
            name='target_position',
            field=models.CharField(blank=True, max_length=200, verbose_name='their position'),
        ),
        migrations.AlterField(
            model_name='petition',
            name='paper_count',
            field=models.PositiveIntegerField(default=0, editable=False, help_text='Shown on its own line; never added to the online count.', verbose_name='signatures collected on paper'),
        ),
        migrations.AlterField(
            model_name='petition',
            name='status',
            field=models.CharField(choices=[('draft', 'Draft'), ('open', 'Open'), ('closed', 'Closed'), ('won', 'Won')], default='draft', max_length=16, verbose_name='status'),
        ),
        migrations.AddConstraint(
            model_name='petition',
            constraint=models.CheckConstraint(condition=models.Q(('goal_kind', 'ladder'), models.Q(('goal_fixed__gt', 0), ('goal_kind', 'fixed')), _connector='OR'), name='petition_fixed_goal_positive'),
        ),
        migrations.AddField(
            model_name='paperbatch',
            name='added_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='paperbatch',
            name='petition',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='paper_batches', to='petitions.petition'),
        ),
        migrations.AddConstraint(
            model_name='paperbatch',
            constraint=models.CheckConstraint(condition=models.Q(('count__gt', 0)), name='paper_batch_count_positive'),
        ),
        migrations.RunPython(paper_totals_to_batches, paper_batches_to_totals),
    ]
