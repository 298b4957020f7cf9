"""Staff tools in the Django admin, one module per model: petitions, signatures (review,
invalidation, CSV export, erasure), invalidation batches and flagged-attempt tallies, and the
campaign lockdown.

Every change goes through a service in ``petitions.services`` and every read through
``petitions.selectors``; these modules only turn requests into calls and answers into
messages. Lists never show names or addresses: staff screens are shared and screenshotted.
Only the CSV export decrypts them, for staff who may see supporters.
"""

from petitions.admin import campaigns, invalidations, petitions, signatures

__all__ = ["campaigns", "invalidations", "petitions", "signatures"]
