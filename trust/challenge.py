"""Proof of work on signing: ALTCHA (v1) challenges, self-hosted, with a wait for people
without JavaScript.

A challenge is asked for on a petition that always wants one (the caller says so: petitions
pass ``Petition.challenge_required``) and, for ``CHALLENGE_AUTO_MINUTES``, on any petition
whose sign attempts pass ``CHALLENGE_AUTO_PER_MINUTE``. The browser solves it
(static/js/challenge.js): it finds the number whose SHA-256 with the salt gives the
challenge, costing a second or so of work per signature. The server only checks one hash
and one HMAC, and accepts each solution once.

People without JavaScript, or whose browser could not solve it, get a signed, timestamped
*wait token* instead: it is accepted once it is ``CHALLENGE_WAIT_SECONDS`` old, once. A person
filling in the form takes longer than that anyway. For a script it costs a page load per
signature and a few seconds, not work: weaker than the puzzle, but nobody is locked out, and
the rate limits, block rules and honeypot apply all the same.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import altcha
from altcha.v1 import SHA256, PayloadType
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from trust.ratelimit import ratelimit_hit

# How long a challenge or a wait token stays usable: enough to read the petition and type.
CHALLENGE_TTL_SECONDS = 20 * 60
# A real payload is about 300 characters; anything much longer is not worth decoding.
PAYLOAD_MAX_LENGTH = 2048
WAIT_TOKEN_MAX_LENGTH = 512
_WAIT_SIGNING_SALT = "sbor.trust.challenge.wait"
_ALGORITHM = SHA256


@dataclass(frozen=True)
class ChallengeWidget:
    """What a sign form carries while a challenge is required."""

    challenge: dict[str, Any]  # ALTCHA's challenge: algorithm, challenge, maxNumber, …
    wait_token: str
    wait_seconds: int

    @property
    def challenge_json(self) -> str:
        return json.dumps(self.challenge, separators=(",", ":"))


def _now() -> float:
    # One clock for issuing and checking, so tests can move it.
    return time.time()


def _hmac_key() -> str:
    # Derived for this purpose only: a leaked challenge signature says nothing about
    # SECRET_KEY or any other token signed with it.
    return salted_hmac("sbor.trust.challenge.altcha", "hmac-key").hexdigest()


def _auto_key(petition_id: int) -> str:
    return f"challenge-auto:{petition_id}"


def challenge_required(*, petition_id: int, always_required: bool) -> bool:
    """True if signing petition ``petition_id`` must come with a solved challenge (or a ripe
    wait token): always when ``always_required`` (the petition's own setting), otherwise
    while a surge of attempts has switched it on."""
    return always_required or bool(cache.get(_auto_key(petition_id)))


def challenge_attempt_record(*, petition_id: int) -> None:
    """Count one sign attempt (form or API); past the threshold, switch the challenge on.

    Every attempt past the threshold starts the period again, so the challenge stays on
    for as long as the surge lasts, and for ``CHALLENGE_AUTO_MINUTES`` after.
    """
    within = ratelimit_hit(
        key=f"petition-attempts:{petition_id}",
        limit=settings.CHALLENGE_AUTO_PER_MINUTE,
        window_seconds=60,
    )
    if not within:
        cache.set(_auto_key(petition_id), True, settings.CHALLENGE_AUTO_MINUTES * 60)


def challenge_create(*, petition_id: int) -> dict[str, Any]:
    """A new ALTCHA challenge for ``petition_id``, as the solver wants it (JSON-ready)."""
    expires = datetime.fromtimestamp(_now() + CHALLENGE_TTL_SECONDS, tz=UTC)
    options = altcha.ChallengeOptionsV1(
        algorithm=_ALGORITHM,
        max_number=settings.CHALLENGE_MAX_NUMBER,
        hmac_key=_hmac_key(),
        expires=expires,
        # Bound to the petition, so a solution cannot be spent on another one.
        params={"petition": str(petition_id)},
    )
    return cast(dict[str, Any], altcha.create_challenge_v1(options).to_dict())


def challenge_wait_token_create(*, petition_id: int) -> str:
    """A signed, timestamped token that ``challenge_wait_token_accept`` takes once it is ripe."""
    # Rounded down, never up: a token must not look younger than it is.
    issued = math.floor(_now() * 1000) / 1000
    payload = {"p": petition_id, "n": secrets.token_urlsafe(12), "t": issued}
    return signing.dumps(payload, salt=_WAIT_SIGNING_SALT)


def challenge_widget_get(*, petition_id: int, always_required: bool) -> ChallengeWidget | None:
    """A fresh challenge and wait token for a sign form, or None if none is required
    (``always_required`` as for ``challenge_required``)."""
    if not challenge_required(petition_id=petition_id, always_required=always_required):
        return None
    return ChallengeWidget(
        challenge=challenge_create(petition_id=petition_id),
        wait_token=challenge_wait_token_create(petition_id=petition_id),
        wait_seconds=settings.CHALLENGE_WAIT_SECONDS,
    )


def _payload_parse(payload: str) -> PayloadType | None:
    """The decoded payload if it has the right shape; None for anything else.

    The library trusts its input's shape (a JSON list or number would raise), so everything
    it reads is checked here first.
    """
    if not payload or len(payload) > PAYLOAD_MAX_LENGTH:
        return None
    try:
        data = json.loads(base64.b64decode(payload, validate=True))
    except (ValueError, binascii.Error, RecursionError):
        # ValueError covers non-ASCII input, bad UTF-8 and bad JSON.
        return None
    if not isinstance(data, dict) or data.get("algorithm") != _ALGORITHM:
        return None
    number = data.get("number")
    if type(number) is not int or not 0 <= number <= settings.CHALLENGE_MAX_NUMBER:
        return None
    text_fields = ("challenge", "salt", "signature")
    if not all(isinstance(data.get(key), str) for key in text_fields):
        return None
    return {
        "algorithm": _ALGORITHM,
        "challenge": data["challenge"],
        "number": number,
        "salt": data["salt"],
        "signature": data["signature"],
    }


def _payload_expires(payload: PayloadType, *, petition_id: int) -> float | None:
    """When the challenge expires, if it is for this petition and names one expiry time."""
    params = altcha.extract_params_v1(payload)
    if params.get("petition") != [str(petition_id)]:
        return None
    expires = params.get("expires", [])
    if len(expires) != 1 or not (expires[0].isascii() and expires[0].isdigit()):
        return None
    if len(expires[0]) > 12:  # past the year 33000: not one of ours
        return None
    return float(expires[0])


def challenge_solution_accept(*, petition_id: int, payload: str) -> bool:
    """True, once, for a correct unexpired solution of a challenge for ``petition_id``.

    Any other input (forged, for another petition, expired, spent, malformed) is False.
    """
    parsed = _payload_parse(payload)
    if parsed is None:
        return False
    expires = _payload_expires(parsed, petition_id=petition_id)
    now = _now()
    if expires is None or expires <= now:
        return False
    # Expiry is checked above on our own clock; the library checks hash and HMAC.
    valid, _error = altcha.verify_solution_v1(parsed, _hmac_key(), check_expires=False)
    if not valid:
        return False
    # One signature per solution: the first to claim it wins, atomically on Redis too.
    return cache.add(f"challenge-spent:{parsed['signature']}", True, int(expires - now) + 1)


def challenge_wait_token_accept(*, petition_id: int, token: str) -> bool:
    """True, once, for a wait token for ``petition_id`` that is old enough and not too old."""
    if not token or len(token) > WAIT_TOKEN_MAX_LENGTH:
        return False
    try:
        data = signing.loads(token, salt=_WAIT_SIGNING_SALT)
    except (signing.BadSignature, ValueError):
        # ValueError: text that cannot even be encoded for the signature check.
        return False
    if not isinstance(data, dict) or data.get("p") != petition_id:
        return False
    nonce, issued = data.get("n"), data.get("t")
    if not isinstance(nonce, str) or not isinstance(issued, int | float):
        return False
    age = _now() - issued
    if not settings.CHALLENGE_WAIT_SECONDS <= age <= CHALLENGE_TTL_SECONDS:
        return False
    return cache.add(f"challenge-wait-spent:{nonce}", True, CHALLENGE_TTL_SECONDS)


def challenge_passed(*, petition_id: int, payload: str, wait_token: str = "") -> bool:
    """True if a solution or, failing that, a wait token is accepted (spending it)."""
    if challenge_solution_accept(petition_id=petition_id, payload=payload):
        return True
    return challenge_wait_token_accept(petition_id=petition_id, token=wait_token)
