"""Organisers' accounts: signing in, and resetting a forgotten password by email.

An organiser is a Django user whose username is their lower-cased email address. The
account shares nothing with signers' data (``petitions.Supporter``): asking for a reset
with a signer's address finds no account and mails nothing.

Neither answer tells whether an account exists: signing in with an unknown address is
counted, hashed (Django's ``ModelBackend`` runs the hasher on a dummy password) and
refused exactly like a wrong password, and a reset request gets the same page whatever
the address.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import authenticate, get_user_model, update_session_auth_hash
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from common.tasks import enqueue_on_commit
from trust.login import login_attempt_allowed, password_reset_request_limit
from workspace import emails
from workspace.models import PasswordResetRequest

# A password-reset request is left this long to its task before the sweep answers it, and
# dropped unanswered once this old.
PASSWORD_RESET_REQUEST_GRACE = timedelta(minutes=1)
PASSWORD_RESET_REQUEST_STALE = timedelta(hours=1)


class SignInRefusedError(Exception):
    """The address and password do not sign in: ``reason`` is "invalid" or "throttled"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PasswordResetLimitedError(Exception):
    """Too many reset requests from this client (its own requests only)."""


def username_for(email: str) -> str:
    """The username of the account with this address: the address, trimmed and lower-cased."""
    return email.strip().lower()


def account_authenticate(*, email: str, password: str, ip: str, known_browser: str = "") -> User:
    """The active account with this address and password; raises ``SignInRefusedError``.

    The attempt is counted (``trust.login``) before the password is checked, so that past
    the limits even the right password is refused without touching the hasher. An unknown
    address and a wrong password cost the same and are answered alike. ``known_browser``
    is the browser's known-browser cookie (``trust.login``).
    """
    username = username_for(email)
    if not login_attempt_allowed(username=username, ip=ip, known_browser=known_browser):
        raise SignInRefusedError("throttled")
    user = authenticate(username=username, password=password)
    if user is None:
        raise SignInRefusedError("invalid")
    return user


def account_check_password(*, user: User, password: str, ip: str) -> bool:
    """Whether ``password`` is the signed-in user's, counted like a sign-in attempt (so a
    borrowed session cannot be used to guess it); False past the limits too."""
    if not login_attempt_allowed(username=user.get_username(), ip=ip):
        return False
    return user.check_password(password)


# --- Password reset ------------------------------------------------------------------------


def password_reset_request(*, email: str, ip: str, language: str) -> None:
    """Take a request for a password-reset email: count it, record it, leave the rest to a
    task (``password_reset_request_process``), which mails the link if an active account
    has this address.

    The work done here is the same for every address (the rate-limit hits, one encrypted
    row, one task carrying only its id), so neither the answer nor its timing tells
    whether an account exists. Raises ``PasswordResetLimitedError`` past the per-client
    limit, which depends only on the requester. Past the per-address limit (shared with
    whoever types the address) the request is taken like any other, with the same row and
    task, but the row holds no address and nobody is mailed. The token is made when the
    email is sent (``workspace.emails``), so a message that waited for a retry still
    carries a link that lives its whole time.
    """
    from workspace import tasks  # the tasks module imports the services

    exceeded = password_reset_request_limit(ip=ip, email=username_for(email))
    if exceeded == "ip":
        raise PasswordResetLimitedError
    recorded = "" if exceeded == "address" else username_for(email)
    with transaction.atomic():
        request = PasswordResetRequest.objects.create(email=recorded, language=language)
        enqueue_on_commit(tasks.password_reset_request_process, request.pk)


def password_reset_request_process(*, request_id: int) -> bool:
    """Answer one password-reset request; True if an email was queued. Safe to run twice:
    deleting the row is the claim, and a request older than ``PASSWORD_RESET_REQUEST_STALE``
    is dropped unanswered."""
    with transaction.atomic():
        request = PasswordResetRequest.objects.filter(pk=request_id).first()
        if request is None:
            return False
        if not PasswordResetRequest.objects.filter(pk=request.pk).delete()[0]:
            return False
        if request.created_at < timezone.now() - PASSWORD_RESET_REQUEST_STALE:
            return False
        if not request.email:  # taken past the limit per address: answered, not mailed
            return False
        user = (
            get_user_model()
            .objects.filter(username=request.email, is_active=True)
            .only("pk")
            .first()
        )
        if user is None:
            return False
        emails.password_reset_email_queue(user_id=user.pk, language=request.language)
        return True


def password_reset_requests_sweep(*, limit: int = 500) -> int:
    """Answer requests whose task was lost, delete those too old to answer; returns how
    many were answered. Rows younger than ``PASSWORD_RESET_REQUEST_GRACE`` are left to
    their own task. Runs every minute (``CELERY_BEAT_SCHEDULE``)."""
    now = timezone.now()
    PasswordResetRequest.objects.filter(created_at__lt=now - PASSWORD_RESET_REQUEST_STALE).delete()
    ids = list(
        PasswordResetRequest.objects.filter(created_at__lt=now - PASSWORD_RESET_REQUEST_GRACE)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for request_id in ids:
        password_reset_request_process(request_id=request_id)
    return len(ids)


def other_sessions_end(request: HttpRequest, *, user: User, password: str) -> None:
    """End every session of the account but this one, after a change of its security
    (second factor turned on or off). The password just given is hashed anew (a fresh
    salt), so the session hash Django keeps in each session no longer matches and the
    other sessions are signed out on their next request; this one is updated and gets a
    new key.
    """
    user.set_password(password)
    user.save(update_fields=["password"])
    update_session_auth_hash(request, user)
