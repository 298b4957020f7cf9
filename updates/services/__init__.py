"""Writes for updates, by topic; the names are re-exported here.

writing: checking, creating and editing what organisers write; sending: send now, schedule,
cancel, the test email, and the worker's planning; outcomes: drafts proposed when a
petition is won, closed or answered; subscriptions: what the links in an update do.
"""

from updates.services.outcomes import petition_outcomes, update_propose
from updates.services.sending import (
    UpdateAlreadySentError,
    UpdateAudienceEmptyError,
    UpdateNotCancellableError,
    UpdateScheduleError,
    UpdateTestTooSoonError,
    update_cancel,
    update_plan,
    update_schedule,
    update_send,
    update_test_send,
    updates_due_start,
    updates_finish,
    updates_plan_stale,
)
from updates.services.subscriptions import (
    SubscriptionLink,
    SubscriptionLinkInvalidError,
    SubscriptionNotFoundError,
    subscription_link_read,
    subscription_stop,
    subscription_stop_all,
    subscription_stop_one,
)
from updates.services.writing import (
    UpdateInvalidError,
    UpdateNotEditableError,
    update_content_check,
    update_create,
    update_delete,
    update_edit,
)

__all__ = [
    "SubscriptionLink",
    "SubscriptionLinkInvalidError",
    "SubscriptionNotFoundError",
    "UpdateAlreadySentError",
    "UpdateAudienceEmptyError",
    "UpdateInvalidError",
    "UpdateNotCancellableError",
    "UpdateNotEditableError",
    "UpdateScheduleError",
    "UpdateTestTooSoonError",
    "petition_outcomes",
    "subscription_link_read",
    "subscription_stop",
    "subscription_stop_all",
    "subscription_stop_one",
    "update_cancel",
    "update_content_check",
    "update_create",
    "update_delete",
    "update_edit",
    "update_plan",
    "update_propose",
    "update_schedule",
    "update_send",
    "update_test_send",
    "updates_due_start",
    "updates_finish",
    "updates_plan_stale",
]
