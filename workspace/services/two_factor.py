"""Organisers' second factor: an authenticator app (TOTP) and single-use recovery codes.

Built on django-otp: one ``TOTPDevice`` per account (unconfirmed while it is being set up)
and one ``StaticDevice`` holding the recovery codes, each code deleted when used. A
session counts as verified once ``django_otp.login`` has put a device's id in it
(``request.user.is_verified()``, set by django-otp's middleware).

Every code typed is counted per account and per client (``trust.login``) before it is
checked, on top of django-otp's own back-off per device (1, 2, 4, ... seconds after each
wrong code), so that neither guessing six digits nor trying recovery codes gets far.
"""

from __future__ import annotations

import re
from typing import Any

import django_otp
from django.contrib.auth.models import User
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from trust.login import second_factor_attempt_allowed

RECOVERY_CODE_COUNT = 10
_TOTP_NAME = "Authenticator app"
_RECOVERY_NAME = "Recovery codes"
_SEPARATORS = re.compile(r"[\s\-]+")


class SecondFactorRefusedError(Exception):
    """The code does not verify. ``reason``: "invalid" (wrong, forged or used),
    "wait" (django-otp's back-off after wrong codes) or "throttled" (our hourly limits)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def totp_device_get(*, user: User) -> TOTPDevice | None:
    """The account's confirmed authenticator app, if it has set one up."""
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def two_factor_enabled(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user_id=user.pk, device__confirmed=True).count()


def code_normalise(code: str) -> str:
    """What was typed, without spaces or hyphens, lower-cased (codes are shown grouped)."""
    return _SEPARATORS.sub("", code).lower()


def recovery_code_display(code: str) -> str:
    """A recovery code as shown: two groups of four, easier to copy by hand."""
    return f"{code[:4]}-{code[4:]}" if len(code) == 8 else code


def _verify(*, user: User, device: Any, code: str, ip: str) -> Any:
    """``device`` once it accepts ``code``; raises ``SecondFactorRefusedError``."""
    if not second_factor_attempt_allowed(username=user.get_username(), ip=ip):
        raise SecondFactorRefusedError("throttled")
    if device is None:
        raise SecondFactorRefusedError("invalid")
    allowed, _details = device.verify_is_allowed()
    if not allowed:
        raise SecondFactorRefusedError("wait")
    # django-otp locks the device's row while it checks (and, for a recovery code, deletes
    # it): two requests with the same code cannot both pass.
    verified = django_otp.verify_token(user, device.persistent_id, code_normalise(code))
    if verified is None:
        raise SecondFactorRefusedError("invalid")
    return verified


def totp_verify(*, user: User, code: str, ip: str) -> TOTPDevice:
    """The account's authenticator app, if ``code`` is its current code (each code once)."""
    device: TOTPDevice = _verify(user=user, device=totp_device_get(user=user), code=code, ip=ip)
    return device


def recovery_code_use(*, user: User, code: str, ip: str) -> StaticDevice:
    """Use up one recovery code; returns the device that held it. The code is deleted."""
    device = StaticDevice.objects.filter(user_id=user.pk, confirmed=True).first()
    verified: StaticDevice = _verify(user=user, device=device, code=code, ip=ip)
    return verified


def totp_device_pending(*, user: User, device_id: int | None) -> TOTPDevice:
    """The unconfirmed authenticator app this session is setting up.

    ``device_id`` is the one the session was given (the caller keeps it in the session):
    while it is still unconfirmed, the same one, so that reloading the page does not change
    the secret already scanned. Otherwise a fresh secret, and the account's other
    unconfirmed apps are deleted: another session (a stolen one, say) never sees or
    confirms this session's secret.
    """
    pending = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False)
    if device_id is not None:
        device = pending.filter(pk=device_id).first()
        if device is not None:
            return device
    with transaction.atomic():
        pending.delete()
        return TOTPDevice.objects.create(user=user, name=_TOTP_NAME, confirmed=False)


def totp_device_confirm(
    *, user: User, device_id: int | None, code: str, ip: str
) -> tuple[TOTPDevice, list[str]]:
    """Confirm the app this session is setting up (``device_id``) with a code from it;
    returns it and new recovery codes.

    Any other app of the account is removed: one account, one app. Raises
    ``SecondFactorRefusedError`` if the code does not match, or the app is not this
    session's (it stays unconfirmed).
    """
    pending = (
        TOTPDevice.objects.filter(user_id=user.pk, confirmed=False, pk=device_id).first()
        if device_id is not None
        else None
    )
    # Checked outside the transaction below: a wrong code's back-off must be kept.
    device: TOTPDevice = _verify(user=user, device=pending, code=code, ip=ip)
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return device, recovery_codes_generate(user=user)


@transaction.atomic
def recovery_codes_generate(*, user: User) -> list[str]:
    """New recovery codes for the account, replacing any it had; shown once, stored as is
    (each is 40 random bits, and the device's back-off and our limits stop guessing)."""
    StaticDevice.objects.filter(user_id=user.pk).delete()
    device = StaticDevice.objects.create(user=user, name=_RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def two_factor_remove(*, user: User) -> None:
    """Remove the account's app and recovery codes; its sessions are no longer verified."""
    TOTPDevice.objects.filter(user_id=user.pk).delete()
    StaticDevice.objects.filter(user_id=user.pk).delete()
