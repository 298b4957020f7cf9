"""The Celery application. Tasks are discovered in each app's ``tasks.py``."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Beat's tasks travel on their own queue, consumed by a worker of their own (Procfile.dev,
# docker-compose.yml): thousands of emails or other bulk work on "default" and "mail" can
# then never hold back the count refresh or the outbox sweep.
PERIODIC_QUEUE = "periodic"
# Bulk mail's send tasks: a mailing to 100 000 people fills this queue, never "mail".
BULK_QUEUE = "bulk"
# Provider events ride there too: a mailing to 100 000 people brings 100 000 "delivered"
# webhooks, whose processing must not delay a confirmation email on "mail".
BULK_TASKS = frozenset({"mailer.tasks.mailing_send", "mailer.tasks.email_event_process"})


def task_route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> Any:
    """Celery router: beat's tasks to "periodic", bulk mail to "bulk", email to "mail"."""
    if name in {entry["task"] for entry in app.conf.beat_schedule.values()}:
        return {"queue": PERIODIC_QUEUE}
    if name in BULK_TASKS:
        # Mailings to many people: their own queue and workers (docs/emails.md).
        return {"queue": BULK_QUEUE}
    if name.startswith("mailer.tasks."):
        # Transactional email has its own queue so a bulk job never delays a confirmation.
        return {"queue": "mail"}
    return None


app = Celery("sbor")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # A task is acknowledged after it ran, so a worker killed mid-task leaves it for another;
    # every task is written to be safe to run twice.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    task_default_queue="default",
    task_routes=(task_route,),
    broker_connection_retry_on_startup=True,
    # A worker that loses the broker keeps trying to reconnect, for as long as it takes
    # (Celery's default gives up after 100 attempts and exits).
    broker_connection_retry=True,
    broker_connection_max_retries=None,
    # On losing the broker, a task in hand runs to its end instead of being killed: its
    # outcome goes to PostgreSQL, not Redis, and killing an SMTP conversation half-way is
    # exactly what can make a provider accept a message we then record as unsent.
    worker_cancel_long_running_tasks_on_connection_loss=False,
    worker_hijack_root_logger=False,
    # The development outbox prints links; they are information, not warnings.
    worker_redirect_stdouts_level="INFO",
)
app.autodiscover_tasks()


@app.on_after_configure.connect
def _filesystem_broker_folders(sender: Celery, **kwargs: object) -> None:
    # kombu's filesystem transport expects its folders to exist; create them on first use.
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = (sender.conf.broker_transport_options or {}).get(key)
        if folder:
            os.makedirs(folder, exist_ok=True)


def redis_channel_reopen_guard() -> None:
    """Make a closed kombu Redis channel fail like a lost connection, not a crash.

    When Redis drops while a worker holds an unacknowledged (``acks_late``) task, Celery
    5.7's consumer first ``collect()``s the connection, which detaches the transport
    (``transport.client = None``) while the channel stays open, then ``close()``s it. The
    channel's close tries to hand the unacknowledged message back to Redis, which makes a
    client from ``transport.client`` and fails with ``AttributeError``. That is not one of
    the errors Celery treats as a lost connection, so the worker stopped with
    "Unrecoverable error" instead of reconnecting. Raised as ``redis.ConnectionError``, it
    is ignored like any other error on a dead connection and the consumer reconnects; the
    message stays in Redis's unacknowledged set and the task is safe to run again.
    """
    try:
        import redis
        from kombu.transport import redis as kombu_redis
    except ImportError:  # no Redis client: not a Redis broker either
        return
    channel: Any = kombu_redis.Channel
    original = channel._connparams
    if getattr(original, "sbor_guarded", False):
        return

    def _connparams(self: Any, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection is already closed")
        return original(self, asynchronous=asynchronous)

    _connparams.sbor_guarded = True  # type: ignore[attr-defined]
    channel._connparams = _connparams


redis_channel_reopen_guard()
