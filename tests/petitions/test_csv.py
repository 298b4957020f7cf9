"""The staff CSV export of signatures: complete, safe in a spreadsheet, staff only."""

from __future__ import annotations

import csv
import io

import pytest

from petitions import services
from petitions.models import Petition, Signature
from petitions.selectors import csv_cell
from tests.factories import admin_login, petition_create, signature_create, staff_user_create

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/petitions/signature/"


@pytest.fixture
def petition() -> Petition:
    return petition_create(slug="free-them", title="Free them")


def export(client, *signatures: Signature):
    return client.post(
        CHANGELIST,
        {"action": "export_csv", "_selected_action": [s.pk for s in signatures]},
    )


def rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+7 999", "'+7 999"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Анна = Мария", "Анна = Мария"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_cell_that_a_spreadsheet_would_run_gets_a_leading_apostrophe(value, cell):
    assert csv_cell(value) == cell


def test_staff_get_every_column_with_names_and_addresses_decrypted(client, petition):
    admin_login(client, staff_user_create())
    signature = signature_create(
        petition=petition,
        name="Анна Политковская",
        email="Anna@Example.org",
        country="RU",
        confirmed=True,
        display=Signature.Display.SHORT,
    )
    signature.refresh_from_db()

    response = export(client, signature)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"].split(", ")
    assert response["Content-Disposition"].startswith('attachment; filename="signatures-')
    assert rows(response) == [
        {
            "public_id": str(signature.public_id),
            "petition": "free-them",
            "status": "confirmed",
            "invalid_reason": "",
            "display": "short",
            "name": "Анна Политковская",
            "email": "Anna@Example.org",
            "country": "RU",
            "created_at": signature.created_at.isoformat(),
            "confirmed_at": signature.confirmed_at.isoformat(),
            "source": "",
        }
    ]


def test_formulas_quotes_and_markup_come_out_as_plain_safe_text(client, petition):
    admin_login(client, staff_user_create())
    formula = signature_create(petition=petition, name='=cmd|" /C calc"!A0', confirmed=True)
    markup = signature_create(
        petition=petition, name='<script>alert("x")</script>, "Bob"', confirmed=True
    )
    at_sign = signature_create(
        petition=petition, name="@boss", email="-x@example.org", confirmed=True
    )

    exported = {row["public_id"]: row for row in rows(export(client, formula, markup, at_sign))}

    assert exported[str(formula.public_id)]["name"] == '\'=cmd|" /C calc"!A0'
    # Markup is data here: kept exactly (a CSV is not HTML), quotes doubled by the writer.
    assert exported[str(markup.public_id)]["name"] == '<script>alert("x")</script>, "Bob"'
    assert exported[str(at_sign.public_id)]["name"] == "'@boss"
    assert exported[str(at_sign.public_id)]["email"] == "'-x@example.org"


def test_raw_csv_quotes_cells_with_commas_quotes_and_newlines(client, petition):
    admin_login(client, staff_user_create())
    signature = signature_create(petition=petition, name='Ann "the, Brave"', confirmed=True)

    body = b"".join(export(client, signature).streaming_content).decode()

    assert '"Ann ""the, Brave"""' in body


def test_anonymised_and_dropped_signers_export_empty_personal_cells(client, petition):
    admin_login(client, staff_user_create())
    signature = signature_create(petition=petition, confirmed=True)
    Petition.objects.filter(pk=petition.pk).update(status=Petition.Status.CLOSED)
    services.petition_anonymise(petition=petition)

    [row] = rows(export(client, signature))

    assert (row["name"], row["email"], row["country"], row["status"]) == ("", "", "", "confirmed")


def test_anonymous_visitors_are_sent_to_the_login_page(client, petition):
    signature = signature_create(petition=petition, name="Hidden Person", confirmed=True)

    response = export(client, signature)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_people_who_are_not_staff_are_sent_to_the_login_page(client, petition):
    from django.contrib.auth import get_user_model

    signature = signature_create(petition=petition, name="Hidden Person", confirmed=True)
    client.force_login(get_user_model().objects.create_user(username="visitor"))

    response = export(client, signature)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_who_may_not_see_supporters_get_no_export(client, petition):
    signature = signature_create(petition=petition, name="Hidden Person", confirmed=True)
    admin_login(
        client, staff_user_create(superuser=False, permissions=("petitions.view_signature",))
    )

    listing = client.get(CHANGELIST).content.decode()
    response = export(client, signature)

    assert 'value="export_csv"' not in listing
    assert not hasattr(response, "streaming_content")
    assert "Hidden Person" not in response.content.decode()


def test_staff_who_may_see_supporters_get_the_export(client, petition):
    signature = signature_create(petition=petition, name="Shown Person", confirmed=True)
    admin_login(
        client,
        staff_user_create(
            superuser=False,
            permissions=("petitions.view_signature", "petitions.view_supporter"),
        ),
    )

    [row] = rows(export(client, signature))

    assert row["name"] == "Shown Person"


def test_names_and_addresses_appear_in_the_export_only(client, petition):
    admin_login(client, staff_user_create())
    signature = signature_create(
        petition=petition, name="Only Here", email="only@here.example", confirmed=True
    )

    listing = client.get(CHANGELIST).content.decode()
    detail = client.get(f"{CHANGELIST}{signature.pk}/change/").content.decode()
    [row] = rows(export(client, signature))

    assert "Only Here" not in listing + detail
    assert "only@here.example" not in listing + detail
    assert (row["name"], row["email"]) == ("Only Here", "only@here.example")
