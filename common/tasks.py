"""Enqueueing Celery tasks after the business transaction commits, with one failure policy.

Every "run this task once the rows are committed" in Sbor goes through ``enqueue_on_commit``
(pretix's ``TransactionAwareTask`` follows the same idea). The policy:

* The task is sent only after the surrounding transaction commits (at once outside one), so
  a worker never looks for rows that are not there yet, and a rollback sends nothing.
* A broker that is down or slow never turns a committed action into an error for the
  person who caused it: the failure is logged (task name only, never arguments, which may
  be ids of people) and swallowed. Whatever the task was to do is recorded in the database
  first, and a periodic sweep picks it up once the broker is back.
* A broker that is down fails fast: one attempt, no publish retries (kombu would otherwise
  wait between retries), and the socket timeouts in ``settings.CELERY_BROKER_TRANSPORT_OPTIONS``
  bound a broker that accepts connections but never answers. A request never waits on
  the broker for more than about half a second.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError
from redis import RedisError

logger = logging.getLogger(__name__)


class _Task(Protocol):
    @property
    def name(self) -> str: ...

    # Any signature: Celery's tasks and signatures both fit.
    def apply_async(self, *args: Any, **kwargs: Any) -> Any: ...


# One attempt: redis-py already reconnects once on a stale pooled connection (a broker
# restarted since the last publish), and the sweeps are the retry for everything else.
PUBLISH_RETRY_POLICY = {"max_retries": 0, "interval_start": 0, "interval_step": 0}


def enqueue_now(task: _Task, *args: Any, **kwargs: Any) -> bool:
    """Send ``task`` to the broker now; False (logged, not raised) if the broker failed.

    Only connection and timeout errors are swallowed: anything else, such as a bug in a task
    run in-process under ``task_always_eager`` (the tests), propagates.
    """
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except (BrokerError, RedisError, OSError):
        # Broker down, unreachable or timing out. The work is in the database; the sweep
        # for this kind of work re-enqueues it. No arguments in the log: they identify rows.
        logger.warning("could not enqueue %s; a periodic sweep will pick the work up", task.name)
        return False
    return True


def enqueue_on_commit(task: _Task, *args: Any, **kwargs: Any) -> None:
    """Send ``task`` with these (JSON) arguments once the current transaction commits.

    ``robust=True`` keeps one failing callback from stopping the others registered on the
    same commit; ``enqueue_now`` already swallows broker errors, this is the second fence.
    """
    transaction.on_commit(lambda: enqueue_now(task, *args, **kwargs), robust=True)
