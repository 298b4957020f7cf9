"""Writes for petitions and signatures, by topic; the names are re-exported here."""

from petitions.services.campaign_lifecycle import (
    campaign_duplicate_with_petitions,
    campaign_end,
    campaign_petitions_close,
    petitions_duplicate,
)
from petitions.services.confirming import (
    ConfirmationInvalidError,
    SignerReview,
    sign_attempt_confirm_token,
    sign_attempt_from_code,
    sign_attempt_from_token,
    signature_confirm,
)
from petitions.services.counts import (
    signature_counts_refresh,
    signature_counts_repair,
    signature_statuses_change,
)
from petitions.services.gate import (
    ChallengeFailedError,
    SigningPausedError,
    signing_challenge_check,
    signing_gate_enter,
)
from petitions.services.processing import (
    sign_attempt_process,
    sign_attempts_sweep,
    signature_create,
)
from petitions.services.retention import (
    LockdownConfirmationError,
    campaign_lockdown,
    petition_anonymise,
    petition_save,
    petitions_retention_apply,
)
from petitions.services.review import (
    CriteriaError,
    InvalidationCountChangedError,
    SignatureCriteria,
    invalidation_batch_revalidate,
    petition_integrity_refresh,
    signatures_find,
    signatures_invalidate,
    signatures_revalidate,
)
from petitions.services.signing import (
    PetitionClosedError,
    SignatureSource,
    SignResult,
    confirm_max_age,
    flagged_attempt_count,
    sign_attempt_create,
)

__all__ = [
    "ChallengeFailedError",
    "ConfirmationInvalidError",
    "CriteriaError",
    "InvalidationCountChangedError",
    "LockdownConfirmationError",
    "PetitionClosedError",
    "SignResult",
    "SignatureCriteria",
    "SignatureSource",
    "SignerReview",
    "SigningPausedError",
    "campaign_duplicate_with_petitions",
    "campaign_end",
    "campaign_lockdown",
    "campaign_petitions_close",
    "confirm_max_age",
    "flagged_attempt_count",
    "invalidation_batch_revalidate",
    "petition_anonymise",
    "petition_integrity_refresh",
    "petition_save",
    "petitions_duplicate",
    "petitions_retention_apply",
    "sign_attempt_confirm_token",
    "sign_attempt_create",
    "sign_attempt_from_code",
    "sign_attempt_from_token",
    "sign_attempt_process",
    "sign_attempts_sweep",
    "signature_confirm",
    "signature_counts_refresh",
    "signature_counts_repair",
    "signature_create",
    "signature_statuses_change",
    "signatures_find",
    "signatures_invalidate",
    "signatures_revalidate",
    "signing_challenge_check",
    "signing_gate_enter",
]
