"""Trust's verdicts on sign attempts are stored by petitions under the values they always had."""

from __future__ import annotations

import pytest

from petitions.models import FlaggedAttemptTally, Signature
from petitions.services.signing import _FLAG_REASONS
from trust.services import FlagReason


def test_every_verdict_of_trust_has_a_stored_reason():
    assert set(_FLAG_REASONS) == set(FlagReason)


@pytest.mark.parametrize("flag", list(FlagReason), ids=lambda flag: flag.value)
def test_a_verdict_is_stored_under_the_same_value_and_shown_with_the_same_words(flag):
    # Tallies and signatures flagged before trust had its own words keep their rows as they
    # are: no data migration, and the admin's filters still find them.
    stored = _FLAG_REASONS[flag]
    assert stored.value == flag.value
    assert stored.label == flag.label
    tally_reasons = FlaggedAttemptTally._meta.get_field("reason").choices
    assert (flag.value, stored.label) in tally_reasons


def test_staff_and_automated_reasons_stay_petitions_own():
    trusts = {flag.value for flag in FlagReason}
    assert Signature.InvalidReason.STAFF not in trusts
    assert Signature.InvalidReason.AUTOMATED not in trusts
