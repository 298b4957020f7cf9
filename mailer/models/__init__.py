"""The mailer's tables: the transactional outbox, and bulk mailings with their deliveries."""

from mailer.models.bulk import Delivery, Mailing, Suppression
from mailer.models.outbox import ABOUT_KEYS, AboutKey, OutboxMessage

__all__ = ["ABOUT_KEYS", "AboutKey", "Delivery", "Mailing", "OutboxMessage", "Suppression"]
