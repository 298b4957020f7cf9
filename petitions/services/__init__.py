"""Writes for petitions and signatures, by topic; the names are re-exported here."""

from petitions.services.counts import (
    signature_counts_refresh,
    signature_counts_repair,
    signature_statuses_change,
)
from petitions.services.signing import (
    ConfirmationInvalidError,
    PetitionClosedError,
    SignatureSource,
    SignResult,
    confirm_max_age,
    signature_confirm,
    signature_create,
    signature_from_code,
    signature_from_token,
)

__all__ = [
    "ConfirmationInvalidError",
    "PetitionClosedError",
    "SignResult",
    "SignatureSource",
    "confirm_max_age",
    "signature_confirm",
    "signature_counts_refresh",
    "signature_counts_repair",
    "signature_create",
    "signature_from_code",
    "signature_from_token",
    "signature_statuses_change",
]
