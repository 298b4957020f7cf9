"""The Celery application: safe delivery, JSON only, mail on its own queue, a complete schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings

import campaigns.tasks  # noqa: F401 - registers its tasks with the app
import mailer.tasks
import petitions.tasks
import updates.tasks
import workspace.tasks  # noqa: F401 - registers its tasks with the app
from config.celery import app

SCHEDULED = {
    "petitions.tasks.signature_counts_refresh",
    "petitions.tasks.signature_counts_repair",
    "mailer.tasks.outbox_requeue",
    "mailer.tasks.mailings_sweep",
    "mailer.tasks.email_events_sweep",
    "petitions.tasks.sign_attempts_sweep",
    "petitions.tasks.petition_integrity_refresh",
    "petitions.tasks.supporter_emails_drop",
    "petitions.tasks.supporter_emails_drop_due",
    "petitions.tasks.petitions_close_due",
    "petitions.tasks.petitions_retention_apply",
    "petitions.tasks.signature_ip_hashes_drop",
    "petitions.tasks.manage_link_requests_sweep",
    "petitions.tasks.supporters_unlinked_delete",
    "petitions.tasks.signature_reminders_send",
    "campaigns.tasks.invitations_expired_delete",
    "updates.tasks.updates_tick",
    "workspace.tasks.password_reset_requests_sweep",
}


def seconds(schedule: Any) -> float:
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float):
        return float(schedule)
    return schedule.run_every.total_seconds()  # celery.schedules.schedule


def entry_for(task: str) -> dict[str, Any]:
    [entry] = [entry for entry in app.conf.beat_schedule.values() if entry["task"] == task]
    return entry


def queue_of(task: str) -> str:
    return app.amqp.router.route({}, task)["queue"].name


def test_a_task_is_acknowledged_only_after_it_ran():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_tasks_travel_as_json_only():
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]


def test_the_app_reads_the_django_settings():
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE


def test_sending_mail_goes_to_the_mail_queue():
    assert queue_of("mailer.tasks.outbox_send") == "mail"


@pytest.mark.parametrize("task", sorted(SCHEDULED))
def test_every_scheduled_task_goes_to_the_periodic_queue_where_bulk_work_cannot_delay_it(task):
    assert queue_of(task) == "periodic"


def test_a_task_that_is_neither_mail_nor_scheduled_goes_to_the_default_queue():
    assert app.conf.task_default_queue == "default"
    assert queue_of("petitions.tasks.some_one_off_job") == "default"


def test_a_worker_that_loses_the_broker_reconnects_for_as_long_as_it_takes():
    assert app.conf.broker_connection_retry is True
    assert app.conf.broker_connection_retry_on_startup is True
    assert app.conf.broker_connection_max_retries is None
    # A send in hand runs to its end: killing it half-way could leave a message the provider
    # accepted recorded as unsent.
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is False


def test_the_schedule_has_every_periodic_task():
    assert {entry["task"] for entry in app.conf.beat_schedule.values()} == SCHEDULED


def test_every_scheduled_task_is_registered():
    for task in SCHEDULED:
        assert task in app.tasks, task


def test_counts_are_refreshed_at_most_every_ten_seconds():
    assert 0 < seconds(entry_for("petitions.tasks.signature_counts_refresh")["schedule"]) <= 10


def test_lost_manage_link_requests_are_answered_within_a_few_minutes():
    assert seconds(entry_for("petitions.tasks.manage_link_requests_sweep")["schedule"]) <= 300


def test_the_outbox_is_swept_every_fifteen_seconds_by_default():
    assert seconds(entry_for("mailer.tasks.outbox_requeue")["schedule"]) == 15


@pytest.mark.parametrize("task", sorted(SCHEDULED))
def test_a_scheduled_run_expires_before_the_next_one_is_due(task):
    # When the worker falls behind, stale runs are dropped instead of piling up.
    entry = entry_for(task)
    assert 0 < entry["options"]["expires"] <= seconds(entry["schedule"])


@pytest.mark.parametrize("name", sorted(SCHEDULED))
def test_each_scheduled_task_name_is_a_registered_task(name):
    assert petitions.tasks.signature_counts_refresh.name in app.tasks
    assert mailer.tasks.outbox_send.name in app.tasks
    assert updates.tasks.updates_tick.name in app.tasks
    assert name in app.tasks


def test_the_send_task_is_acknowledged_late_and_retried_without_a_celery_limit():
    task = app.tasks["mailer.tasks.outbox_send"]

    assert task.acks_late is True
    # MAILER_MAX_ATTEMPTS decides when to give up, not Celery.
    assert task.max_retries is None
    assert task.ignore_result is True


def test_a_closed_redis_channel_fails_like_a_lost_connection_which_the_worker_survives():
    # Celery 5.7 detaches the transport before it closes a channel that still holds an
    # unacknowledged task; without the guard the hand-back raised AttributeError and the
    # worker exited ("Unrecoverable error"). tests/e2e/test_worker_faults.py does it for real.
    from types import SimpleNamespace

    import redis
    from kombu.transport import redis as kombu_redis

    detached = SimpleNamespace(connection=SimpleNamespace(client=None))

    with pytest.raises(redis.exceptions.ConnectionError) as raised:
        kombu_redis.Channel._connparams(detached)

    assert isinstance(raised.value, kombu_redis.get_redis_error_classes().connection_errors)


def test_the_guard_is_installed_once_however_often_the_module_asks():
    # An open channel goes straight through to kombu: every e2e worker connects through it.
    from kombu.transport import redis as kombu_redis

    from config.celery import redis_channel_reopen_guard

    guarded = kombu_redis.Channel._connparams
    redis_channel_reopen_guard()

    assert kombu_redis.Channel._connparams is guarded
    assert getattr(guarded, "sbor_guarded", False) is True


def test_lost_sign_attempts_are_swept_up_every_few_minutes_at_most():
    # A sign whose task was lost (broker down) waits for this sweep to get its email.
    assert seconds(entry_for("petitions.tasks.sign_attempts_sweep")["schedule"]) <= 300


def test_old_ip_hashes_are_dropped_every_hour():
    # Moved from trust to petitions (which own the signatures): the timing did not change.
    entry = app.conf.beat_schedule["ip-hashes-drop"]
    assert entry["task"] == "petitions.tasks.signature_ip_hashes_drop"
    assert seconds(entry["schedule"]) == 3600
