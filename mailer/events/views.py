"""The tracking webhook: anymail's view for each configured provider, a little stricter.

``/anymail/<esp>/tracking/`` answers only for the providers in ``MAILER_WEBHOOK_ESPS``
(404 for any other), with anymail's own tracking view for that provider: it checks the
basic-auth secret (any of ``ANYMAIL["WEBHOOK_SECRET"]``, so two are accepted while one is
rotated) and the provider's signature where it has one, and answers 400 when they fail.
Two things are added:

* a payload anymail cannot parse (not JSON, fields missing or of the wrong type, an
  inbound message posted to the tracking URL) is answered 400 with nothing stored, where
  anymail would raise and answer 500, which providers retry for days; and the error that
  is logged never carries the payload (some of anymail's messages quote it);
* Mailgun's signed timestamp must be recent (``SIGNATURE_MAX_AGE``): its signature covers
  the timestamp and a random token, so an old signed request cannot be replayed once its
  token has left the event table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache
from typing import Any, cast

from anymail import urls as anymail_urls
from anymail.exceptions import (
    AnymailAPIError,
    AnymailConfigurationError,
    AnymailWebhookValidationFailure,
)
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseBase
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from mailer.events.receiver import EVENT_MAX_AGE

# What a malformed payload raises in anymail's parsers.
MALFORMED = (
    ValueError,  # not JSON, not UTF-8, a bad number or date
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    AnymailConfigurationError,  # an inbound message on the tracking URL
    AnymailAPIError,  # Amazon SES: an SNS message that is not JSON
)
SIGNATURE_MAX_AGE = EVENT_MAX_AGE.total_seconds()
# A provider's clock may run a little ahead of ours.
SIGNATURE_MAX_AHEAD = 15 * 60.0


class _MalformedIsBadRequest:
    """Answer 400 to a payload the provider's parser cannot read, instead of a 500.

    Validators are covered too: some parse the payload before the secret is checked
    (Amazon SES). ``from None``: the original error, logged with the 400, may quote it.
    """

    esp_name: str

    def _malformed(self) -> AnymailWebhookValidationFailure:
        return AnymailWebhookValidationFailure(
            f"malformed payload in the {self.esp_name} tracking webhook"
        )

    def run_validators(self, request: HttpRequest) -> None:
        try:
            super().run_validators(request)  # type: ignore[misc]  # anymail's view
        except AnymailWebhookValidationFailure:
            raise
        except MALFORMED:
            raise self._malformed() from None

    def parse_events(self, request: HttpRequest) -> list[Any]:
        try:
            return super().parse_events(request)  # type: ignore[misc]  # anymail's view
        except MALFORMED:
            raise self._malformed() from None


class _MailgunFreshSignature:
    """Refuse a Mailgun webhook whose signed timestamp is too old (or far ahead)."""

    def validate_request(self, request: HttpRequest) -> None:
        try:
            if request.content_type == "application/json":
                stamp = json.loads(request.body.decode("utf-8"))["signature"]["timestamp"]
            else:
                stamp = request.POST["timestamp"]
            age = time.time() - float(stamp)
        except MALFORMED:
            raise AnymailWebhookValidationFailure(
                "Mailgun webhook without a usable timestamp"
            ) from None
        if not -SIGNATURE_MAX_AHEAD <= age <= SIGNATURE_MAX_AGE:
            raise AnymailWebhookValidationFailure("Mailgun webhook signature has expired")


@cache
def tracking_view(esp: str) -> Callable[..., HttpResponseBase] | None:
    """anymail's tracking view for ``esp`` (a module name, e.g. "postmark"), or None."""
    found = [p for p in anymail_urls.urlpatterns if p.name == f"{esp}_tracking_webhook"]
    if not found:
        return None
    anymail_view: type[View] = getattr(found[0].callback, "view_class")  # noqa: B009
    mixins: tuple[type, ...] = (_MalformedIsBadRequest,)
    if esp == "mailgun":
        mixins += (_MailgunFreshSignature,)
    view_class = cast(type[View], type(f"Sbor{anymail_view.__name__}", (*mixins, anymail_view), {}))
    return view_class.as_view()


@csrf_exempt
def tracking_webhook(request: HttpRequest, esp: str) -> HttpResponseBase:
    if esp not in settings.MAILER_WEBHOOK_ESPS:
        raise Http404("no webhook for this provider")
    view = tracking_view(esp)
    if view is None:
        raise Http404("no webhook for this provider")
    return view(request)
