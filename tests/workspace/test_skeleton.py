"""The workspace frame: membership decides 404, 403 or the page."""

from __future__ import annotations

import pytest

from tests.factories import campaign_create, member_create, organisation_create, workspace_login

pytestmark = pytest.mark.django_db


def test_member_sees_their_organisations_campaigns(client):
    membership = member_create(role="viewer")
    campaign_create(organisation=membership.organisation, title="Free them all")
    workspace_login(client, membership.user, verified=False)
    response = client.get(f"/workspace/{membership.organisation.slug}/")
    assert response.status_code == 200
    assert "Free them all" in response.content.decode()


def test_another_organisation_answers_404(client):
    membership = member_create(role="owner")
    other = organisation_create()
    workspace_login(client, membership.user)
    assert client.get(f"/workspace/{other.slug}/").status_code == 404
