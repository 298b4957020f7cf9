"""Petitions, the people who sign them, and their signatures.

A ``Supporter`` is one person (one normalised email) across all petitions: updates,
preferences and erasure are per person. A ``Signature`` is that person on one petition.
A ``SignAttempt`` is one submission of the sign form, kept until it is confirmed or its
link expires. Personal data lives only in ``Supporter.email`` and ``Supporter.name``, in
``SignAttempt.email``, ``name`` and ``confirm_code`` (all encrypted at rest) and in the
``ip_hash``/``ip_network_hash`` keyed hashes (dropped after the fraud window), so
encryption, retention and erasure have few places to act on. Attempts flagged as
fraudulent leave only an anonymous ``FlaggedAttemptTally``. Signatures collected on paper
are counted per ``PaperBatch``, with no personal data of their signers.
"""

from petitions.models.paper import PaperBatch
from petitions.models.people import Consent, ManageLinkRequest, Supporter
from petitions.models.petitions import Petition
from petitions.models.signatures import (
    FlaggedAttemptTally,
    InvalidationBatch,
    SignAttempt,
    Signature,
)

__all__ = [
    "Consent",
    "FlaggedAttemptTally",
    "InvalidationBatch",
    "ManageLinkRequest",
    "PaperBatch",
    "Petition",
    "SignAttempt",
    "Signature",
    "Supporter",
]
