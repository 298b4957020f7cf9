"""Reads for petitions and signatures, by topic; the names are re-exported here.

public: what public pages show (nothing counts rows on a page view); integrity: the line
under a count; lockdown: what a lockdown would purge; export: CSV for staff; criteria:
finding signatures by IP, domain, address, hash or time; person: what is stored about a
supporter; organisation: an organisation's petitions and invalidations (the workspace).
"""

from petitions.selectors.campaign_totals import (
    campaign_list_with_totals,
    petition_list_for_campaign,
)
from petitions.selectors.criteria import (
    CriteriaError,
    SignatureCriteria,
    signature_criteria_q,
    signature_criteria_record,
    signature_search_parse,
    signatures_find,
    signatures_invalidatable_count,
)
from petitions.selectors.export import (
    SIGNATURE_CSV_HEADER,
    csv_cell,
    signatures_csv_lines,
    signatures_csv_rows,
)
from petitions.selectors.integrity import (
    PetitionIntegrity,
    petition_integrity,
)
from petitions.selectors.lockdown import (
    LockdownSummary,
    campaign_lockdown_summary,
)
from petitions.selectors.organisation import (
    organisation_invalidation_batches,
    organisation_petitions,
)
from petitions.selectors.public import (
    RECENT_SIGNERS_CACHE_SECONDS,
    RECENT_SIGNERS_LIMIT,
    PublicSigner,
    display_name,
    petition_count_label,
    petition_get_public,
    petition_goal,
    petition_goal_shown,
    petition_list_public,
    petition_recent_signers,
    petition_recent_signers_forget,
)

__all__ = [
    "RECENT_SIGNERS_CACHE_SECONDS",
    "RECENT_SIGNERS_LIMIT",
    "SIGNATURE_CSV_HEADER",
    "CriteriaError",
    "LockdownSummary",
    "PetitionIntegrity",
    "PublicSigner",
    "SignatureCriteria",
    "campaign_list_with_totals",
    "campaign_lockdown_summary",
    "csv_cell",
    "display_name",
    "organisation_invalidation_batches",
    "organisation_petitions",
    "petition_count_label",
    "petition_get_public",
    "petition_goal",
    "petition_goal_shown",
    "petition_integrity",
    "petition_list_for_campaign",
    "petition_list_public",
    "petition_recent_signers",
    "petition_recent_signers_forget",
    "signature_criteria_q",
    "signature_criteria_record",
    "signature_search_parse",
    "signatures_csv_lines",
    "signatures_csv_rows",
    "signatures_find",
    "signatures_invalidatable_count",
]
