"""The role matrix: every workspace route, for every role, in its own organisation and in
another, answers what ``campaigns.access.RIGHTS`` says, and changes nothing when it refuses.

One table (``ROWS``) lists every organisation route of the workspace as a request: its URL
name, the objects its URL names, the method and the form it posts, the ``Action`` its view
asks for, and how to tell that the change happened. The expected answer is computed from
``RIGHTS``, never written by hand:

- allowed: a page (2xx) or a redirect onwards (3xx), and a POST's change is in the database
  with its audit entry;
- a member whose role lacks the right: 403, nothing changed;
- a member of another organisation, whether the URL names the other organisation or their
  own organisation with the other's objects (real public ids): 404, nothing changed;
- a right that needs a second factor the session has not given (owners, for everything): a
  redirect to the two-factor step, nothing changed;
- nobody signed in: a redirect to the sign-in page, nothing changed.

"Nothing changed" compares every row of the tables a workspace action writes, before and
after. A route without a row fails ``test_the_table_has_a_row_for_every_organisation_route``.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, reverse
from django.utils import timezone

from campaigns.access import RIGHTS, Action, role_allows, two_factor_required
from campaigns.models import AuditEntry, Campaign, Invitation, Membership, Organisation, Role
from petitions.models import PaperBatch, Petition
from tests.campaigns.images import png_with_text, upload
from tests.factories import (
    campaign_create,
    member_create,
    organisation_create,
    petition_create,
    workspace_login,
)
from tests.workspace.members_helpers import account_urls  # noqa: F401 - the fixture
from workspace import urls as workspace_urls

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("account_urls", "media_root")]


@pytest.fixture(scope="module")
def media_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture
def media_root(settings: Any, media_folder: Path) -> None:
    settings.MEDIA_ROOT = media_folder


# --- The organisation the requests act on --------------------------------------------------


class World:
    """Organisation A, with its first owner, and the objects rows act on, made on first use
    (a test makes only what its row needs)."""

    def __init__(self) -> None:
        self.organisation = organisation_create()
        self.founder = member_create(organisation=self.organisation, role=Role.OWNER)

    @cached_property
    def published(self) -> Campaign:
        return campaign_create(organisation=self.organisation, status=Campaign.Status.PUBLISHED)

    @cached_property
    def draft(self) -> Campaign:
        return campaign_create(organisation=self.organisation, status=Campaign.Status.DRAFT)

    @cached_property
    def open_petition(self) -> Petition:
        return petition_create(campaign=self.published, status=Petition.Status.OPEN)

    @cached_property
    def draft_petition(self) -> Petition:
        return petition_create(campaign=self.published, status=Petition.Status.DRAFT)

    @cached_property
    def colleague(self) -> Membership:
        return member_create(organisation=self.organisation, role=Role.CAMPAIGNER)

    @cached_property
    def invitation(self) -> Invitation:
        return Invitation.objects.create(
            organisation=self.organisation,
            email="invited.person@example.org",
            role=Role.VIEWER,
            invited_by=self.founder.user,
            expires_at=timezone.now() + datetime.timedelta(days=7),
        )


def _fresh(instance: Any) -> Any:
    return type(instance).objects.get(pk=instance.pk)


# --- The table ------------------------------------------------------------------------------

Kwargs = Callable[[World], dict[str, Any]]
Data = Callable[[World], dict[str, Any]]
# Whether the change happened; takes the world and the acting member.
Done = Callable[[World, Membership], bool]


def _none(world: World) -> dict[str, Any]:
    return {}


def _draft_campaign(world: World) -> dict[str, Any]:
    return {"campaign": world.draft.public_id}


def _published_campaign(world: World) -> dict[str, Any]:
    return {"campaign": world.published.public_id}


def _open_petition(world: World) -> dict[str, Any]:
    return {"petition": world.open_petition.public_id}


def _draft_petition(world: World) -> dict[str, Any]:
    return {"petition": world.draft_petition.public_id}


def _colleague(world: World) -> dict[str, Any]:
    return {"public_id": world.colleague.public_id}


def _invitation(world: World) -> dict[str, Any]:
    return {"public_id": world.invitation.public_id}


def _campaign_form(world: World, campaign: Campaign | None, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "slug": campaign.slug if campaign else "",
        "summary": "One sentence.",
        "body": "A story.",
        "language": "en",
        "retention_days": str(campaign.retention_days if campaign else 30),
    }


def _petition_form(petition: Petition | None, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "ask": "Free everyone.",
        "target_name": "The Minister",
        "target_position": "",
        "target_organisation": "",
        "language": "en",
        "goal_kind": Petition.GoalKind.LADDER,
        "goal_fixed": "",
        "closes_at": "",
        "slug": petition.slug if petition else "",
    }


def _campaign_status(status: str) -> Done:
    def done(world: World, me: Membership) -> bool:
        campaign = world.draft if status == Campaign.Status.PUBLISHED else world.published
        return bool(_fresh(campaign).status == status)

    return done


def _petition_status(status: str, petition: str) -> Done:
    def done(world: World, me: Membership) -> bool:
        return bool(_fresh(getattr(world, petition)).status == status)

    return done


@dataclass(frozen=True)
class Row:
    """One workspace request. ``data`` is the POST body; ``done`` tells that a POST did its
    work (GETs must change nothing)."""

    name: str
    action: Action
    method: str = "GET"
    kwargs: Kwargs = _none
    data: Data = field(default=_none)
    done: Done | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}"

    @property
    def names_objects(self) -> bool:
        return bool(self.kwargs is not _none)


ROWS: list[Row] = [
    # The organisation's page: its campaigns.
    Row("organisation", Action.VIEW),
    # Members, invitations, the audit log.
    Row("members", Action.VIEW),
    Row(
        "member-invite",
        Action.MEMBERS_MANAGE,
        "POST",
        data=lambda world: {"email": "new.person@example.org", "role": Role.VIEWER},
        done=lambda world, me: Invitation.objects.filter(
            organisation=world.organisation, email="new.person@example.org"
        ).exists(),
    ),
    Row("member-leave", Action.VIEW),
    Row(
        "member-leave",
        Action.VIEW,
        "POST",
        done=lambda world, me: not Membership.objects.filter(pk=me.pk).exists(),
    ),
    Row(
        "invitation-revoke",
        Action.MEMBERS_MANAGE,
        "POST",
        _invitation,
        done=lambda world, me: _fresh(world.invitation).revoked_at is not None,
    ),
    Row(
        "member-role",
        Action.MEMBERS_MANAGE,
        "POST",
        _colleague,
        data=lambda world: {"role": Role.VIEWER},
        done=lambda world, me: _fresh(world.colleague).role == Role.VIEWER,
    ),
    Row("member-remove", Action.MEMBERS_MANAGE, "GET", _colleague),
    Row(
        "member-remove",
        Action.MEMBERS_MANAGE,
        "POST",
        _colleague,
        done=lambda world, me: not Membership.objects.filter(pk=world.colleague.pk).exists(),
    ),
    Row("audit", Action.AUDIT_READ),
    # Campaigns.
    Row("campaign-new", Action.CAMPAIGN_EDIT),
    Row(
        "campaign-new",
        Action.CAMPAIGN_EDIT,
        "POST",
        data=lambda world: _campaign_form(world, None, "A brand new campaign"),
        done=lambda world, me: Campaign.objects.filter(
            organisation=world.organisation, title="A brand new campaign"
        ).exists(),
    ),
    Row("campaign", Action.VIEW, "GET", _published_campaign),
    Row("campaign-edit", Action.CAMPAIGN_EDIT, "GET", _draft_campaign),
    Row(
        "campaign-edit",
        Action.CAMPAIGN_EDIT,
        "POST",
        _draft_campaign,
        data=lambda world: _campaign_form(world, world.draft, "Renamed by the matrix"),
        done=lambda world, me: _fresh(world.draft).title == "Renamed by the matrix",
    ),
    Row(
        "campaign-publish",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _draft_campaign,
        done=_campaign_status(Campaign.Status.PUBLISHED),
    ),
    Row("campaign-close", Action.CAMPAIGN_PUBLISH, "GET", _published_campaign),
    Row(
        "campaign-close",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _published_campaign,
        done=_campaign_status(Campaign.Status.CLOSED),
    ),
    Row("campaign-win", Action.CAMPAIGN_PUBLISH, "GET", _published_campaign),
    Row(
        "campaign-win",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _published_campaign,
        done=_campaign_status(Campaign.Status.WON),
    ),
    Row(
        "campaign-duplicate",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _published_campaign,
        done=lambda world, me: (
            Campaign.objects.filter(organisation=world.organisation).count() == 2
        ),
    ),
    Row("campaign-hero", Action.CAMPAIGN_EDIT, "GET", _draft_campaign),
    Row(
        "campaign-hero",
        Action.CAMPAIGN_EDIT,
        "POST",
        _draft_campaign,
        data=lambda world: {
            "image": upload(png_with_text(size=(480, 320)), "hero.png", "image/png"),
            "hero_alt": "Portraits held up outside the court",
        },
        done=lambda world, me: bool(_fresh(world.draft).hero_image),
    ),
    # Petitions.
    Row("petition-new", Action.CAMPAIGN_EDIT, "GET", _published_campaign),
    Row(
        "petition-new",
        Action.CAMPAIGN_EDIT,
        "POST",
        _published_campaign,
        data=lambda world: _petition_form(None, "A brand new petition"),
        done=lambda world, me: Petition.objects.filter(
            campaign=world.published, title="A brand new petition"
        ).exists(),
    ),
    Row("petition", Action.VIEW, "GET", _open_petition),
    Row("petition-edit", Action.CAMPAIGN_EDIT, "GET", _draft_petition),
    Row(
        "petition-edit",
        Action.CAMPAIGN_EDIT,
        "POST",
        _draft_petition,
        data=lambda world: _petition_form(world.draft_petition, "Renamed by the matrix"),
        done=lambda world, me: _fresh(world.draft_petition).title == "Renamed by the matrix",
    ),
    Row(
        "petition-open",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _draft_petition,
        done=_petition_status(Petition.Status.OPEN, "draft_petition"),
    ),
    Row("petition-close", Action.CAMPAIGN_PUBLISH, "GET", _open_petition),
    Row(
        "petition-close",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _open_petition,
        done=_petition_status(Petition.Status.CLOSED, "open_petition"),
    ),
    Row("petition-win", Action.CAMPAIGN_PUBLISH, "GET", _open_petition),
    Row(
        "petition-win",
        Action.CAMPAIGN_PUBLISH,
        "POST",
        _open_petition,
        done=_petition_status(Petition.Status.WON, "open_petition"),
    ),
    Row(
        "petition-paper",
        Action.CAMPAIGN_EDIT,
        "POST",
        _open_petition,
        data=lambda world: {
            "paper-count": "25",
            "paper-collected_by": "Volunteers in Perm",
            "paper-collected_on": timezone.localdate().isoformat(),
        },
        done=lambda world, me: _fresh(world.open_petition).paper_count == 25,
    ),
    Row(
        "petition-response",
        Action.CAMPAIGN_EDIT,
        "POST",
        _open_petition,
        data=lambda world: {
            "response-text": "The ministry will consider it.",
            "response-date": timezone.localdate().isoformat(),
        },
        done=lambda world, me: _fresh(world.open_petition).response_text != "",
    ),
]

# Workspace routes that are not an organisation's: the person's own account and the link of
# an invitation (tested in test_accounts.py, test_two_factor.py and test_invitations.py).
NOT_AN_ORGANISATIONS = frozenset(
    {
        "home",
        "invitation-accept",
        "account",
        "login",
        "logout",
        "two-factor",
        "two-factor-setup",
        "two-factor-recovery-codes",
        "two-factor-remove",
        "password-change",
        "password-reset",
        "password-reset-sent",
        "password-reset-confirm",
    }
)


# --- Who asks, from where -------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    role: Role
    verified: bool

    @property
    def id(self) -> str:
        return f"{self.role.value}{'' if self.verified else ' without a second factor'}"


ACTORS = [
    Actor(Role.OWNER, verified=True),
    Actor(Role.CAMPAIGNER, verified=False),
    Actor(Role.VIEWER, verified=False),
    Actor(Role.OWNER, verified=False),
]


class Scope(enum.Enum):
    OWN = "in their own organisation"
    OTHER = "at another organisation's address"
    # The member's own organisation in the URL, the other organisation's objects after it.
    OTHER_OBJECTS = "with another organisation's objects"


class Outcome(enum.Enum):
    DONE = "allowed"
    FORBIDDEN = "403"
    MISSING = "404"
    TWO_FACTOR = "to the two-factor step"


def expected(*, actor: Actor, action: Action, scope: Scope) -> Outcome:
    """What RIGHTS says: membership first (404), then the role (403), then the factor."""
    if scope is Scope.OTHER:
        return Outcome.MISSING
    if not role_allows(role=actor.role, action=action):
        return Outcome.FORBIDDEN
    if two_factor_required(role=actor.role, action=action) and not actor.verified:
        return Outcome.TWO_FACTOR
    return Outcome.DONE if scope is Scope.OWN else Outcome.MISSING


def _cases() -> Iterator[Any]:
    for row in ROWS:
        for actor in ACTORS:
            for scope in Scope:
                if scope is Scope.OTHER_OBJECTS and not row.names_objects:
                    continue
                yield pytest.param(row, actor, scope, id=f"{row.id}-{actor.id}-{scope.name}")


# --- Snapshots ------------------------------------------------------------------------------

_WATCHED = (Campaign, Petition, PaperBatch, Membership, Invitation, AuditEntry, Organisation)


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table a workspace action writes."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in _WATCHED}


def request(client: Any, row: Row, *, org: str, world: World) -> tuple[Any, Any]:
    """Send the row's request; the world's objects are made before the first snapshot."""
    url = reverse(f"workspace:{row.name}", kwargs={"org": org, **row.kwargs(world)})
    data = row.data(world)
    before = snapshot()
    response = client.post(url, data) if row.method == "POST" else client.get(url)
    return response, before


def _location(response: Any) -> str:
    return str(response.get("Location", ""))


# --- The matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize(("row", "actor", "scope"), list(_cases()))
def test_every_role_gets_what_the_rights_table_says(
    client: Any, row: Row, actor: Actor, scope: Scope
) -> None:
    world = World()
    home = world.organisation if scope is Scope.OWN else organisation_create()
    me = member_create(organisation=home, role=actor.role)
    workspace_login(client, me.user, verified=actor.verified)
    org = world.organisation.slug if scope is not Scope.OTHER_OBJECTS else home.slug

    response, before = request(client, row, org=org, world=world)

    outcome = expected(actor=actor, action=row.action, scope=scope)
    if outcome is Outcome.DONE:
        assert 200 <= response.status_code < 400, response.content.decode()[:2000]
        location = _location(response)
        assert not location.startswith(reverse("workspace:two-factor")), location
        assert not location.startswith(reverse("workspace:login")), location
        if row.method == "GET":
            assert response.status_code == 200
            assert snapshot() == before
        else:
            assert row.done is not None
            assert row.done(world, me), "the POST did not do its work"
            assert AuditEntry.objects.count() > len(before["AuditEntry"]), "not audited"
        return
    if outcome is Outcome.TWO_FACTOR:
        assert response.status_code == 302
        assert _location(response).startswith(reverse("workspace:two-factor") + "?next=")
    else:
        assert response.status_code == {Outcome.FORBIDDEN: 403, Outcome.MISSING: 404}[outcome]
    assert snapshot() == before


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_nobody_signed_in_is_sent_to_sign_in_and_changes_nothing(client: Any, row: Row) -> None:
    world = World()

    response, before = request(client, row, org=world.organisation.slug, world=world)

    assert response.status_code == 302
    assert _location(response).startswith(reverse("workspace:login") + "?next=")
    assert snapshot() == before


# --- The table itself -----------------------------------------------------------------------


def _routes() -> dict[str, str]:
    return {
        str(entry.name): str(entry.pattern)
        for entry in workspace_urls.urlpatterns
        if isinstance(entry, URLPattern)
    }


def test_the_table_has_a_row_for_every_organisation_route() -> None:
    routes = _routes()
    organisation_routes = {name for name, route in routes.items() if "<slug:org>" in route}

    assert {row.name for row in ROWS} == organisation_routes
    assert set(routes) - organisation_routes <= NOT_AN_ORGANISATIONS, (
        "a workspace route outside any organisation: add it to NOT_AN_ORGANISATIONS, with "
        "its own tests, or give it an organisation and a row"
    )


def test_every_post_row_says_how_to_tell_it_worked() -> None:
    for row in ROWS:
        assert (row.method == "POST") == (row.done is not None), row.id
        assert row.action in RIGHTS


def test_every_role_is_in_the_matrix() -> None:
    assert {actor.role for actor in ACTORS} == set(Role)
