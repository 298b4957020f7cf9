"""Whether a sign request may go on: the one place that decides, for the sign form, the API
and any later caller.

A request passes two gates. ``signing_gate_enter`` comes first, before the input is read:
staff may have paused all signing, and the petition may be closed; a request that gets past
it counts toward the petition's automatic proof-of-work challenge (even if its input turns
out to be invalid, since scripts send invalid input too). ``signing_challenge_check`` comes
once the input is valid, right before ``sign_attempt_create``: it asks for the challenge's
solution when the petition wants one. Callers turn the errors into their own answers (a
page, JSON) and decide nothing themselves.
"""

from __future__ import annotations

from petitions.models import Petition
from petitions.services.signing import PetitionClosedError
from trust.challenge import challenge_attempt_record, challenge_passed, challenge_required
from trust.selectors import signing_pause_message


class SigningPausedError(Exception):
    """Staff paused all signing; ``message`` is what to show instead of a sign form."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ChallengeFailedError(Exception):
    """The petition asks for a proof-of-work solution, and none valid came with the request."""


def signing_gate_enter(*, petition: Petition) -> None:
    """Let a sign request in, or raise ``SigningPausedError`` or ``PetitionClosedError``.

    Nothing is stored for a refused request. One let in counts toward the petition's
    automatic challenge.
    """
    pause_message = signing_pause_message()
    if pause_message:
        raise SigningPausedError(pause_message)
    if not petition.is_open:
        raise PetitionClosedError
    challenge_attempt_record(petition_id=petition.pk)


def signing_challenge_check(*, petition: Petition, payload: object, wait_token: str = "") -> None:
    """Raise ``ChallengeFailedError`` unless the petition asks for no challenge or it is solved.

    ``payload`` is the solution as sent (anything not a string fails); ``wait_token`` is the
    sign form's proof that its page was shown long enough ago.
    """
    if not challenge_required(petition_id=petition.pk, always_required=petition.challenge_required):
        return
    solution = payload if isinstance(payload, str) else ""
    if not challenge_passed(petition_id=petition.pk, payload=solution, wait_token=wait_token):
        raise ChallengeFailedError
