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
from petitions.services.editing import (
    PAPER_BATCH_MAX,
    PetitionDetails,
    PetitionStateError,
    paper_batch_add,
    petition_create,
    petition_language_default,
    petition_update,
    target_response_record,
)
from petitions.services.gate import (
    ChallengeFailedError,
    SigningPausedError,
    signing_challenge_check,
    signing_gate_enter,
)
from petitions.services.lifecycle import (
    petition_close,
    petition_open,
    petition_win,
    petitions_close_due,
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
    "PAPER_BATCH_MAX",
    "ChallengeFailedError",
    "ConfirmationInvalidError",
    "CriteriaError",
    "InvalidationCountChangedError",
    "LockdownConfirmationError",
    "PetitionClosedError",
    "PetitionDetails",
    "PetitionStateError",
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
    "paper_batch_add",
    "petition_anonymise",
    "petition_close",
    "petition_create",
    "petition_integrity_refresh",
    "petition_language_default",
    "petition_open",
    "petition_save",
    "petition_update",
    "petition_win",
    "petitions_close_due",
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
    "target_response_record",
]
