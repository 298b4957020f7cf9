"""The mailer's tables: the transactional outbox, bulk mailings with their deliveries, and
what providers report about them (events)."""

from mailer.models.bulk import Delivery, Mailing, Suppression
from mailer.models.events import EmailEvent
from mailer.models.outbox import ABOUT_KEYS, AboutKey, OutboxMessage

__all__ = [
    "ABOUT_KEYS",
    "AboutKey",
    "Delivery",
    "EmailEvent",
    "Mailing",
    "OutboxMessage",
    "Suppression",
]
