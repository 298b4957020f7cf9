"""The one enqueue helper: after commit, once, broker errors swallowed, nothing else."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import TimeoutError as RedisTimeoutError

from common.tasks import PUBLISH_RETRY_POLICY, enqueue_now, enqueue_on_commit
from mailer.tasks import outbox_requeue

pytestmark = pytest.mark.django_db


def test_a_task_is_sent_once_with_one_attempt_and_no_retry_waits():
    with mock.patch.object(outbox_requeue, "apply_async") as apply_async:
        assert enqueue_now(outbox_requeue, 7, when="now") is True
    apply_async.assert_called_once_with(
        args=(7,), kwargs={"when": "now"}, retry=True, retry_policy=PUBLISH_RETRY_POLICY
    )
    assert PUBLISH_RETRY_POLICY["max_retries"] == 0


@pytest.mark.parametrize(
    "error",
    [OperationalError("connection refused"), RedisTimeoutError("timeout"), OSError("reset")],
    ids=["kombu", "redis", "socket"],
)
def test_a_broker_error_is_logged_by_task_name_and_swallowed(error, caplog):
    with mock.patch.object(outbox_requeue, "apply_async", side_effect=error):
        assert enqueue_now(outbox_requeue, 12345) is False
    assert "could not enqueue mailer.tasks.outbox_requeue" in caplog.text
    assert "12345" not in caplog.text  # arguments identify rows: never logged


def test_any_other_error_propagates():
    with (
        mock.patch.object(outbox_requeue, "apply_async", side_effect=TypeError("a bug")),
        pytest.raises(TypeError),
    ):
        enqueue_now(outbox_requeue)


def test_nothing_is_sent_before_commit_or_after_a_rollback(django_capture_on_commit_callbacks):
    with mock.patch.object(outbox_requeue, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(RuntimeError), transaction.atomic():
                enqueue_on_commit(outbox_requeue, 1)
                raise RuntimeError("rolled back")
            with transaction.atomic():
                enqueue_on_commit(outbox_requeue, 2)
                assert apply_async.call_count == 0
        assert [call.kwargs["args"] for call in apply_async.call_args_list] == [(2,)]


def test_a_broker_down_at_commit_does_not_fail_the_committed_transaction(
    django_capture_on_commit_callbacks,
):
    down = OperationalError("Error 111 connecting. Connection refused.")
    with (
        mock.patch.object(outbox_requeue, "apply_async", side_effect=down) as apply_async,
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        enqueue_on_commit(outbox_requeue)
    apply_async.assert_called_once()
