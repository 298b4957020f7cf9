"""JSON endpoints for petitions (Django REST framework).

The API uses no sessions or cookies (authentication is off in settings.REST_FRAMEWORK), so
CSRF does not apply to it; signing through it follows every rule of the sign form.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from petitions import services
from petitions.forms import SignForm
from petitions.models import Petition, Signature
from petitions.selectors import petition_count_label, petition_get_public, petition_goal_shown
from trust.challenge import challenge_create, challenge_required
from trust.network import client_ip

# Browsers and shared caches may reuse a count this long; the count itself changes every
# few seconds at most, so this is what lets 100 000 watchers poll cheaply.
COUNT_MAX_AGE = 5


class PetitionCountApi(APIView):
    class OutputSerializer(serializers.Serializer):
        petition = serializers.CharField(source="slug")
        count = serializers.IntegerField(source="signature_count")
        goal = serializers.SerializerMethodField()
        # "label" shadows Field.label for the type checker only; DRF treats it as a field.
        label = serializers.SerializerMethodField()  # type: ignore[assignment]
        updated_at = serializers.DateTimeField(source="count_refreshed_at", allow_null=True)
        is_open = serializers.BooleanField()

        def get_goal(self, petition: Petition) -> int:
            return petition_goal_shown(petition=petition)

        def get_label(self, petition: Petition) -> str:
            return petition_count_label(
                count=petition.signature_count, goal=petition_goal_shown(petition=petition)
            )

    def get(self, request: Request, slug: str) -> Response:
        petition = petition_get_public(slug=slug)
        # The page asks with ?lang=…, so the label's language is part of the URL and a
        # shared cache cannot hand one language's label to a reader of the other.
        language = request.query_params.get("lang", "")
        if language not in dict(settings.LANGUAGES):
            language = translation.get_language()
        with translation.override(language):
            response = Response(self.OutputSerializer(petition).data)
        patch_cache_control(response, public=True, max_age=COUNT_MAX_AGE)
        return response


# JSON keys the sign API reads, each to the SignForm field of the same name; others are ignored.
SIGN_TEXT_FIELDS = ("name", "email", "country", "display", "website")


def _sign_form_data(body: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The body as SignForm data, and errors for values of the wrong JSON type.

    Strings pass through for the form to judge; consent must be a real boolean, so that
    "no" can never read as yes.
    """
    data: dict[str, str] = {"display": Signature.Display.HIDDEN}
    errors: dict[str, list[str]] = {}
    for field in SIGN_TEXT_FIELDS:
        value = body.get(field)
        if isinstance(value, str):
            data[field] = value
        elif value is not None:
            errors[field] = [_("Send this value as a string.")]
    consent = body.get("consent_updates")
    if isinstance(consent, bool):
        data["consent_updates"] = "on" if consent else ""
    elif consent is not None:
        errors["consent_updates"] = [_("Send true or false.")]
    return data, errors


def _sign_form_validate(body: dict[str, Any]) -> tuple[SignForm, dict[str, list[str]]]:
    """The body checked by the sign form's own rules; errors as {field: [message, …]}."""
    data, type_errors = _sign_form_data(body)
    form = SignForm(data)
    form.is_valid()
    errors = {
        field: [str(message) for message in messages] for field, messages in form.errors.items()
    }
    # A value of the wrong type was left out of the data: say why, not just "required".
    return form, {**errors, **type_errors}


def _challenge_errors(*, petition: Petition, payload: object) -> dict[str, list[str]]:
    try:
        services.signing_challenge_check(petition=petition, payload=payload)
    except services.ChallengeFailedError:
        pass
    else:
        return {}
    url = reverse("api-petition-challenge", args=[petition.slug])
    message = _(
        "This petition asks for a proof-of-work challenge: get one with GET %(url)s, solve it "
        'and send the solution as "altcha".'
    ) % {"url": url}
    return {"altcha": [message]}


def _detail(message: str, *, status_code: int) -> Response:
    return Response({"detail": message}, status=status_code)


def _petition_closed() -> Response:
    message = _("This petition is closed and no longer takes signatures.")
    return _detail(message, status_code=status.HTTP_409_CONFLICT)


# A signature is a few hundred bytes of JSON; a proof-of-work payload adds about 300.
MAX_BODY_BYTES = 16 * 1024


def _content_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return MAX_BODY_BYTES + 1  # unreadable: treat as too large


class PetitionSignApi(APIView):
    """Sign a petition: the sign form's rules and answers, as JSON.

    202 for every accepted signature, whether new, a duplicate or quietly flagged, so the
    answer never tells whether an address has signed; 400 with ``errors`` per field; 409
    when the petition is closed; 503 while all signing is paused.
    """

    def post(self, request: Request, slug: str) -> Response:
        petition = petition_get_public(slug=slug)
        try:
            services.signing_gate_enter(petition=petition)
        except services.SigningPausedError as exc:
            return _detail(exc.message, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
        except services.PetitionClosedError:
            return _petition_closed()
        if _content_length(request) > MAX_BODY_BYTES:
            # DRF parses the stream itself, so Django's upload limit does not apply here.
            return _detail(
                _("The request is too large for a signature."),
                status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        body = request.data
        if not isinstance(body, dict):
            errors = {"__all__": [_("Send a JSON object with the signature's fields.")]}
            return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        form, errors = _sign_form_validate(body)
        if not errors:
            errors = _challenge_errors(petition=petition, payload=body.get("altcha"))
        if errors:
            return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        fields = form.signature_fields()
        # Told apart from the form in the organisers' sources.
        fields["source"] = dataclasses.replace(fields["source"], medium="api")
        try:
            services.sign_attempt_create(
                petition=petition,
                **fields,
                language=translation.get_language() or settings.LANGUAGE_CODE,
                client_ip=client_ip(request._request),
            )
        except services.PetitionClosedError:
            return _petition_closed()
        body_out = {
            "status": "accepted",
            "detail": _(
                "Thank you. Check your email and follow the link in it to confirm your signature."
            ),
        }
        return Response(body_out, status=status.HTTP_202_ACCEPTED)


class PetitionChallengeApi(APIView):
    """The proof-of-work challenge to solve before signing through the API, if one is asked.

    ``{"required": false, "challenge": null}`` or ``{"required": true, "challenge": {…}}``
    with ALTCHA's challenge (algorithm, challenge, maxNumber, salt, signature). Each answer
    is a new challenge, so it must not be cached.
    """

    def get(self, request: Request, slug: str) -> Response:
        petition = petition_get_public(slug=slug)
        required = challenge_required(
            petition_id=petition.pk, always_required=petition.challenge_required
        )
        challenge = challenge_create(petition_id=petition.pk) if required else None
        response = Response({"required": required, "challenge": challenge})
        patch_cache_control(response, no_store=True)
        return response
