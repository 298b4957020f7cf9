"""Small, explicit factories. Each makes one row with sensible defaults; pass what matters."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import altcha
from django.test import TestCase

from campaigns.models import Campaign, Organisation
from campaigns.services import campaign_save
from petitions import services
from petitions.models import Petition, SignAttempt, Signature
from trust.challenge import challenge_create

_numbers = itertools.count(1)


def organisation_create(**fields: Any) -> Organisation:
    n = next(_numbers)
    fields.setdefault("slug", f"org-{n}")
    fields.setdefault("name", f"Organisation {n}")
    return Organisation.objects.create(**fields)


def campaign_create(**fields: Any) -> Campaign:
    n = next(_numbers)
    if "organisation" not in fields:
        fields["organisation"] = organisation_create()
    fields.setdefault("slug", f"campaign-{n}")
    fields.setdefault("title", f"Campaign {n}")
    fields.setdefault("body", "A campaign story.\n\nSecond paragraph.")
    fields.setdefault("status", Campaign.Status.PUBLISHED)
    return campaign_save(campaign=Campaign(**fields))


def petition_create(**fields: Any) -> Petition:
    n = next(_numbers)
    if "campaign" not in fields:
        fields["campaign"] = campaign_create()
    fields.setdefault("slug", f"petition-{n}")
    fields.setdefault("title", f"Petition {n}")
    fields.setdefault("ask", "Free everyone who is held without a fair trial.")
    fields.setdefault("target_name", "The Ministry of Justice")
    fields.setdefault("status", Petition.Status.OPEN)
    return Petition.objects.create(**fields)


def signature_create(
    *, petition: Petition | None = None, confirmed: bool = False, **fields: Any
) -> Signature:
    """A signature made through the real services (so supporters and digests are right).

    The attempt is recorded and processed at once, as the task would; ``confirmed`` then
    confirms it with that attempt, as its link would.
    """
    n = next(_numbers)
    fields.setdefault("email", f"signer{n}@example.org")
    fields.setdefault("name", f"Signer Number{n}")
    result = services.signature_create(petition=petition or petition_create(), **fields)
    signature = result.signature
    assert signature is not None, "the attempt was flagged, or the petition takes none"
    if confirmed:
        assert result.attempt is not None, "this address had signed already"
        services.signature_confirm(sign_attempt=result.attempt)
        signature.refresh_from_db()
        if signature.supporter is not None:
            signature.supporter.refresh_from_db()  # the name and country confirmed
    return signature


def flagged_attempt_create(*, petition: Petition, **fields: Any) -> None:
    """A sign attempt caught as a script (honeypot unless told): it leaves only a tally."""
    n = next(_numbers)
    fields.setdefault("email", f"flagged{n}@example.org")
    fields.setdefault("name", f"Flagged Number{n}")
    fields.setdefault("automated", "honeypot")
    result = services.signature_create(petition=petition, **fields)
    assert result.signature is None, "the attempt was not flagged"


def latest_attempt(signature: Signature) -> SignAttempt:
    """The signature's newest attempt: the one its latest confirmation email was about."""
    attempt = signature.sign_attempts.order_by("-created_at", "-pk").first()
    assert attempt is not None, "no attempt of this signature awaits confirmation"
    return attempt


def signature_confirm(signature: Signature) -> bool:
    """Confirm a pending signature with its newest attempt, as its latest email's link would."""
    return services.signature_confirm(sign_attempt=latest_attempt(signature))


@contextmanager
def tasks_run_on_commit() -> Iterator[None]:
    """Run the tasks the block enqueues after commit, as a worker would (tasks are eager).

    A sign request only records an attempt: the signature, the supporter and the email
    come from the task it enqueues on commit, which a test's transaction never reaches.
    """
    with TestCase.captureOnCommitCallbacks(execute=True):
        yield


def post_and_run_tasks(client: Any, path: str, data: Any = None, **extra: Any) -> Any:
    """POST as a browser would, then run what the request enqueued, as a worker would."""
    with tasks_run_on_commit():
        return client.post(path, data, **extra)


def challenge_solution(*, petition: Petition) -> str:
    """A correctly solved proof-of-work payload for ``petition``, as a browser sends it."""
    challenge = challenge_create(petition_id=petition.pk)
    solution = altcha.solve_challenge_v1(
        altcha.ChallengeV1(
            algorithm="SHA-256",
            challenge=challenge["challenge"],
            max_number=challenge["maxNumber"],
            salt=challenge["salt"],
            signature=challenge["signature"],
        )
    )
    assert solution is not None
    payload = altcha.PayloadV1(
        algorithm="SHA-256",
        challenge=challenge["challenge"],
        number=solution.number,
        salt=challenge["salt"],
        signature=challenge["signature"],
    )
    return payload.to_base64()


def staff_user_create(*, superuser: bool = True, permissions: tuple[str, ...] = ()) -> Any:
    """A staff account (a superuser unless told otherwise) with these "app.codename" perms."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    n = next(_numbers)
    user = get_user_model().objects.create_user(
        username=f"staff{n}", is_staff=True, is_superuser=superuser
    )
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def block_rule_create(*, kind: str, value: str, note: str = "") -> Any:
    """A block rule made through the service (normalised, address hashed, cache cleared)."""
    from trust.services import block_rule_create as service

    return service(kind=kind, value=value, note=note)


def organiser_create(*, email: str | None = None, password: str = "a long pass phrase") -> Any:
    """An organiser's account: a Django user whose username is their lower-cased email."""
    from django.contrib.auth import get_user_model

    n = next(_numbers)
    email = email or f"organiser{n}@example.org"
    return get_user_model().objects.create_user(
        username=email.lower(), email=email.lower(), password=password
    )


def member_create(
    *, organisation: Organisation | None = None, role: str = "campaigner", user: Any = None
) -> Any:
    """A membership (making the organisation and the account when not given)."""
    from campaigns.models import Membership

    return Membership.objects.create(
        organisation=organisation or organisation_create(),
        user=user or organiser_create(),
        role=role,
    )


def totp_device_create(*, user: Any, confirmed: bool = True) -> Any:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="phone", confirmed=confirmed)


def workspace_login(client: Any, user: Any, *, verified: bool = True) -> Any:
    """Sign ``user`` in on ``client``; ``verified`` also passes the second factor (TOTP).

    The session then looks exactly as after the real two-factor step: django-otp keeps the
    verified device's persistent id in the session.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    if verified:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        device = device or totp_device_create(user=user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return user
