"""None"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from mailer.models import OutboxMessage
from petitions import emails, services
from petitions.models import Consent, Petition, Signature, Supporter
from petitions.services import addresses
from tests.e2e.harness import (
    HTTP_TIMEOUT,
    StoringHandler,
    Worker,
    confirm,
    confirm_link,
    count_get,
    mail_wait,
    sign,
)
from tests.factories import campaign_create, petition_create

pytestmark = pytest.mark.e2e


@pytest.fixture
def petition() -> Petition:
    return petition_create(
        campaign=campaign_create(slug="worker-campaign", title="Worker campaign"),
        slug="worker-petition",
        title="Release the prisoners",
    )


# --- Tests ----------------------------------------------------------------------------------


def test_worker_sends_confirmation_email_and_the_link_confirms(
    site: str, worker: Worker, mailbox: StoringHandler, petition: Petition
) -> None:
    typed = "Anna.Example+petition@Example.org"
    with requests.Session() as http:
        sign(
            http,
            site,
            petition,
            name="Anna  Example",
            email=typed,
            display="short",
            consent_updates="on",
        )
        [mail] = mail_wait(mailbox, worker, count=1)

        # The envelope and the header carry the address as typed, its domain in the one
        # canonical form that was hashed (lower-case ASCII, IDNA 2008).
        stored = "Anna.Example+petition@example.org"
        assert mail.rcpt_tos == [stored]
        assert mail.message["To"] == stored
        assert mail.message["Auto-Submitted"] == "auto-generated"
        assert mail.message["X-Auto-Response-Suppress"] == "All"
        assert mail.message["Subject"] == "Confirm your signature: Release the prisoners"
        assert mail.message.get_content_type() == "multipart/alternative"
        # Nothing the signer typed is relayed before the address is confirmed.
        assert mail.text.splitlines()[0] == "Hello,"
        assert "Anna" not in mail.text
        link = confirm_link(site, mail)
        assert link in mail.html
        assert "Hello," in mail.html and "Anna" not in mail.html
        code = re.search(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b", mail.text)
        assert code is not None and code.group(0) in mail.html

        signature = Signature.objects.get(petition=petition)
        assert signature.status == Signature.Status.PENDING

        # Opening the link (as a mail scanner would) changes nothing.
        page = http.get(link, timeout=HTTP_TIMEOUT)
        assert page.status_code == 200
        assert "Confirm my signature" in page.text
        signature.refresh_from_db()
        assert signature.status == Signature.Status.PENDING

        # The consent box ticked on the sign form is asked again, unticked, on the review.
        confirm(http, link, petition, ticked=("consent_updates",))
        signature.refresh_from_db()
        assert signature.status == Signature.Status.CONFIRMED
        consent = Consent.objects.get(signature=signature)
        assert consent.confirmed_at is not None

        # The count moves when the count task runs, not on confirmation.
        assert count_get(http, site, petition)["count"] == 0
        assert services.signature_counts_refresh() == 1
        data = count_get(http, site, petition)
        assert (data["count"], data["goal"]) == (1, 100)
        assert data["label"] == "1 of 100 signatures", data


def test_signing_again_makes_no_second_signature_and_mails_already_signed(
    site: str, worker: Worker, mailbox: StoringHandler, petition: Petition, settings: Any
) -> None:
    # Repeat mail is normally limited to one per interval (anti-flooding); this test signs
    # again within seconds, so the worker runs without it (see the worker fixture), and so
    # does this process, which the sweep or a direct call would use.
    settings.DUPLICATE_EMAIL_INTERVAL_SECONDS = 0
    first = "Boris.Example@gmail.com"
    with requests.Session() as http:
        sign(http, site, petition, name="Boris Example", email=first)
        [first_mail] = mail_wait(mailbox, worker, count=1)
        assert first_mail.rcpt_tos == [first]

        # Still pending: signing again sends a fresh confirmation email, nothing else changes.
        sign(http, site, petition, name="Boris Example", email="borisexample+again@GoogleMail.com")
        _, second_mail = mail_wait(mailbox, worker, count=2)
        assert second_mail.message["Subject"].startswith("Confirm your signature")
        # Mail goes to the address given first: the supporter is the same person.
        assert second_mail.rcpt_tos == [first]

        confirm(http, confirm_link(site, second_mail), petition)
        # Boris gave no consent to updates: once confirmed, the frequent periodic task
        # (run here as beat would) drops his address and only its keyed hash remains.
        assert addresses.supporter_emails_drop_due() == 1
        assert Supporter.objects.get().email == ""

        # Confirmed: signing again gets the "already signed" email and the same page. The
        # address typed this time is the one mail goes to (it hashes to the same person).
        again = "BORIS.EXAMPLE@gmail.com"
        sign(http, site, petition, name="B. Example", email=again)
        *_, already = mail_wait(mailbox, worker, count=3)

    assert already.rcpt_tos == [again]
    assert already.message["To"] == again
    assert already.message["Auto-Submitted"] == "auto-generated"
    assert already.message["Subject"] == "You have already signed: Release the prisoners"
    assert "You have already signed it" in already.text
    assert "You have already signed it" in already.html
    assert "/confirm/" not in already.text

    assert Supporter.objects.count() == 1
    # Kept until the periodic drop task runs again (beat is not running here).
    assert Supporter.objects.get().email == again
    signature = Signature.objects.get(petition=petition)
    assert signature.status == Signature.Status.CONFIRMED
    assert list(OutboxMessage.objects.order_by("pk").values_list("kind", flat=True)) == [
        emails.SIGNATURE_CONFIRM,
        emails.SIGNATURE_CONFIRM,
        emails.SIGNATURE_ALREADY_SIGNED,
    ]
    assert services.signature_counts_refresh() == 1
    petition.refresh_from_db()
    assert petition.signature_count == 1
