"""The Celery application. Tasks are discovered in each app's ``tasks.py``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

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
    # Transactional email travels on its own queue so a bulk job never delays a confirmation.
    task_routes={"mailer.tasks.*": {"queue": "mail"}},
    broker_connection_retry_on_startup=True,
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
