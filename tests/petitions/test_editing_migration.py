"""Migration 0012 keeps every petition's target (now its name) and turns a paper total set
before batches existed into one batch, so the total equals the sum of the batches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import campaign_create
from tests.migrations import latest, migrate

BEFORE = [("petitions", "0011_email_domains_idna2008")]
AFTER = [("petitions", "0012_petition_editing")]


@pytest.fixture(autouse=True)
def _back_to_latest() -> Iterator[None]:
    yield
    migrate(latest())


@pytest.mark.django_db(transaction=True)
def test_targets_become_names_and_paper_totals_become_one_batch() -> None:
    old = migrate(BEFORE)
    campaign = campaign_create(slug="c")  # campaigns are not migrated back: the real model
    Petition = old.get_model("petitions", "Petition")
    with_paper = Petition.objects.create(
        campaign_id=campaign.pk,
        slug="a",
        title="A",
        ask="A",
        target="The State Duma",
        status="open",
        paper_count=40,
    )
    without = Petition.objects.create(
        campaign_id=campaign.pk, slug="b", title="B", ask="B", target="The Court", status="closed"
    )

    new = migrate(AFTER)

    Petition = new.get_model("petitions", "Petition")
    PaperBatch = new.get_model("petitions", "PaperBatch")
    migrated = Petition.objects.get(pk=with_paper.pk)
    assert (migrated.target_name, migrated.target_position, migrated.target_organisation) == (
        "The State Duma",
        "",
        "",
    )
    assert (migrated.goal_kind, migrated.goal_fixed) == ("ladder", None)
    assert Petition.objects.get(pk=without.pk).target_name == "The Court"
    (batch,) = PaperBatch.objects.all()
    assert (batch.petition_id, batch.count, batch.collected_by, batch.added_by_id) == (
        with_paper.pk,
        40,
        "",
        None,
    )
    assert batch.collected_on == migrated.created_at.date()
