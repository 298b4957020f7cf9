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

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.urls import URLPattern, reverse

from campaigns.access import RIGHTS, Action, role_allows, two_factor_required
from campaigns.models import AuditEntry, Campaign, Invitation, Membership, Organisation, Role
from mailer.models import Mailing, OutboxMessage
from petitions.models import InvalidationBatch, PaperBatch, Petition, Signature
from tests.factories import member_create, organisation_create, workspace_login
from tests.workspace.role_matrix_rows import NOT_AN_ORGANISATIONS, ROWS, Row
from tests.workspace.role_matrix_world import World
from updates.models import Update
from workspace import urls as workspace_urls

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


@pytest.fixture(scope="module")
def media_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture
def media_root(settings: Any, media_folder: Path) -> None:
    settings.MEDIA_ROOT = media_folder


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
                if scope is Scope.OTHER and not actor.verified and actor.role == Role.OWNER:
                    continue  # membership is checked first: the same 404 as a verified owner
                yield pytest.param(row, actor, scope, id=f"{row.id}-{actor.id}-{scope.name}")


# --- Snapshots ------------------------------------------------------------------------------

_WATCHED = (
    Organisation,
    Membership,
    Invitation,
    AuditEntry,
    Campaign,
    Petition,
    PaperBatch,
    Signature,
    InvalidationBatch,
    Update,
    Mailing,
    OutboxMessage,
)


def snapshot() -> dict[str, list[Any]]:
    """Every row of every table a workspace action writes.

    On PostgreSQL in one query (each table as a JSON array): the matrix takes two snapshots
    in each of its hundreds of tests.
    """
    if connection.vendor != "postgresql":
        return {model.__name__: list(model.objects.order_by("pk").values()) for model in _WATCHED}
    quote = connection.ops.quote_name
    # Table and column names come from the models, quoted: nothing typed reaches the SQL.
    tables = ", ".join(
        f"(SELECT json_agg(t ORDER BY t.{quote(model._meta.pk.column)}) "  # noqa: S608
        f"FROM {quote(model._meta.db_table)} t)"
        for model in _WATCHED
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {tables}")
        rows = cursor.fetchone()
    return {model.__name__: rows[i] or [] for i, model in enumerate(_WATCHED)}


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
            audited = AuditEntry.objects.count() > len(before["AuditEntry"])
            assert audited == row.audited, "audited" if audited else "not audited"
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
