"""The fan-out benchmark's real update (bench/fanout.py ``--kinds update``).

Not the benchmark's own bulk kind: an ``updates.Update`` written and sent through
``updates.services`` (``update_create``, ``update_send``), planned by the ``update_plan``
task on the "default" worker, and built per batch by ``campaign_update_build_batch``
(per-recipient signed tokens, ``List-Unsubscribe`` headers, the audience read again at send
time). Each audience size gets a campaign of its own whose petition the first ``size``
bench supporters signed and whose updates they agreed to, so that one update reaches
exactly ``size`` people. Every bench supporter gets an address of their own, encrypted
under the project's keys as the sign form would store it.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import connection, transaction

ACTOR_EMAIL = "fanout-bench-campaigner@example.org"
_ENCRYPT_BATCH = 5000
UPDATE_BODY = (
    "## The petition was delivered\n\n"
    "Today we handed **{n} signatures** to the State Duma's reception office. Thank you "
    "for signing: the officials there counted the boxes twice.\n\n"
    "What happens next:\n\n"
    "- the committee has thirty days to answer;\n"
    "- we will publish the answer, whatever it says;\n"
    "- lawyers will keep visiting the people held without a defence.\n\n"
    "Read more on [our site](https://example.org/news) and share the petition with a "
    "friend who has not signed yet.\n"
)


def addresses_unique(*, prefix: str) -> int:
    """Give every bench supporter their own address (``bench+<id>@example.invalid``),
    encrypted one by one with the project's MultiFernet; returns how many."""
    from trust.crypto import encrypt

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM petitions_supporter WHERE email_digest LIKE %s ORDER BY id",
            [prefix + "%"],
        )
        ids = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(ids), _ENCRYPT_BATCH):
            batch = ids[start : start + _ENCRYPT_BATCH]
            cursor.execute(
                "UPDATE petitions_supporter s SET email = v.email"
                " FROM unnest(%s::bigint[], %s::text[]) AS v(id, email) WHERE s.id = v.id",
                [batch, [encrypt(f"bench+{pk}@example.invalid") for pk in batch]],
            )
    return len(ids)


def actor_get(*, organisation: Any) -> Any:
    """A campaigner of ``organisation`` who gave a second factor (as a verified session)."""
    from django.contrib.auth import get_user_model

    from campaigns.models import Membership

    user, _ = get_user_model().objects.get_or_create(
        username=ACTOR_EMAIL, defaults={"email": ACTOR_EMAIL}
    )
    Membership.objects.get_or_create(
        organisation=organisation, user=user, defaults={"role": "campaigner"}
    )
    # What django-otp's middleware sets on a session that gave a code.
    user.is_verified = lambda: True  # type: ignore[attr-defined]  # set per request by django-otp
    return user


def campaign_for_size(*, organisation: Any, prefix: str, size: int) -> Any:
    """A published campaign whose audience is the first ``size`` bench supporters."""
    from campaigns.models import Campaign
    from campaigns.services import campaign_save
    from petitions.models import Petition
    from trust.crypto import encrypt

    campaign = campaign_save(
        campaign=Campaign(
            organisation=organisation,
            slug=f"fanout-{size}",
            title=f"Fan-out to {size} supporters",
            body="A campaign for the fan-out benchmark.",
            language="en",
            status=Campaign.Status.PUBLISHED,
        )
    )
    petition = Petition.objects.create(
        campaign=campaign,
        slug=f"fanout-{size}",
        title="Restore the right to defence",
        ask="Give every detained person a lawyer of their choice.",
        target_name="The State Duma",
        language="en",
        status=Petition.Status.OPEN,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE fanout_people ON COMMIT DROP AS SELECT id FROM petitions_supporter"
            " WHERE email_digest LIKE %s ORDER BY id LIMIT %s",
            [prefix + "%", size],
        )
        cursor.execute(
            "INSERT INTO petitions_signature (public_id, petition_id, supporter_id, status,"
            " display, language, created_at, confirmation_requested_at, confirmed_at,"
            " emailed_at, counted, source, medium, source_campaign, ip_hash, ip_network_hash,"
            " invalid_reason, invalid_detail, confirm_emails_sent, reminders_sent, name, country)"
            " SELECT gen_random_uuid(), %s, id, 'confirmed', 'hidden', 'en', now(), now(),"
            " now(), now(), true, '', '', '', '', '', '', '', 0, 0, %s, '' FROM fanout_people",
            [petition.pk, encrypt("Bench Signer")],
        )
        cursor.execute(
            "INSERT INTO petitions_consent (supporter_id, campaign_id, purpose, method,"
            " wording_version, language, given_at, confirmed_at)"
            " SELECT id, %s, 'campaign_updates', 'sign_form', 'bench', 'en', now(), now()"
            " FROM fanout_people",
            [campaign.pk],
        )
        cursor.execute(
            "UPDATE petitions_petition SET signature_count = %s WHERE id = %s",
            [size, petition.pk],
        )
        # What autovacuum does soon after a big insert on a live site: without fresh
        # statistics on the new supporters the planner walks the audience with a
        # sequential scan per chunk (a quarter of the planning speed).
        cursor.execute("ANALYZE petitions_supporter")
        cursor.execute("ANALYZE petitions_signature")
        cursor.execute("ANALYZE petitions_consent")
    return campaign


def update_start(*, actor: Any, campaign: Any, n: int) -> tuple[Any, float]:
    """Write an update and send it as the "Send now" button does; returns the update and
    the time (epoch seconds) of the click. Planning happens in the "default" worker."""
    from updates.services import update_create, update_send

    update = update_create(
        actor=actor,
        campaign=campaign,
        subject=f"The petition was delivered ({n})",
        body=UPDATE_BODY.format(n=campaign.petitions.get().signature_count),
    )
    clicked = time.time()
    update_send(actor=actor, update=update)
    update.refresh_from_db()
    return update, clicked
