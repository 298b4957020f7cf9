"""'Manage my signature': ask for a link, then see and change what is stored about you.

The link's token is the only key to these pages, so every change is scoped to the
supporter it names, and every response is kept out of caches, search engines and other
sites' Referer headers. GET requests change nothing; each change is a POST with CSRF.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from petitions.manage_forms import DisplayForm, EraseForm, ManageRequestForm
from petitions.models import Signature, Supporter
from petitions.selectors import person
from petitions.services import erasure, manage_links, self_service
from trust.network import client_ip

View = Callable[..., HttpResponse]

# What the page says after a change; the redirect carries only the key (and, after a
# withdrawal, the petition's public id: the signature is no longer on the page to name it).
_DONE = {
    "display": _("Saved: your name is now shown as you chose."),
    "withdrawn": _(
        "Your signature is withdrawn and no longer linked to you. It no longer counts; the "
        "petition keeps only an anonymous row so that its numbers stay true."
    ),
    "consent": _("Done: you will get no more updates about this campaign."),
    "consent_resumed": _("Done: you will hear about this campaign again."),
    "consent_not_resumed": _(
        "This campaign's updates cannot be turned back on: no confirmed signature of yours "
        "stands in it any more."
    ),
}


# Past the per-client limit on "/manage/". There is no message for the per-address limit:
# past it the answer is the usual one (see ``manage_links.manage_link_request``).
_LIMITED = _(
    "Too many links have been asked for from your network in the last hour. Wait an hour "
    "and try again."
)


def _private(view: View) -> View:
    """Nobody's personal data may be kept by a browser's or a proxy's cache."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)  # no-store, among others
        return response

    return wrapper


def _token_page(view: View) -> View:
    """Open the page for the supporter the token names, or say why the link does not work.

    The view receives ``supporter``; a signature or campaign that is not theirs answers 404.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, token: str, **kwargs: Any) -> HttpResponse:
        try:
            supporter = manage_links.manage_token_read(token=token)
        except manage_links.ManageLinkExpiredError:
            context = {"form": ManageRequestForm()}
            response = render(request, "petitions/manage_expired.html", context, status=400)
        except manage_links.ManageLinkInvalidError:
            response = render(request, "petitions/manage_invalid.html", status=400)
        else:
            try:
                response = view(request, token=token, supporter=supporter, **kwargs)
            except manage_links.ManageItemNotFoundError:
                response = render(request, "404.html", status=404)
        add_never_cache_headers(response)
        response["X-Robots-Tag"] = "noindex, nofollow"
        # The token is in this page's address: it must not reach another site. Not
        # "no-referrer": with it browsers send "Origin: null" on this page's own POST
        # forms, which Django's CSRF check rejects; "same-origin" keeps the token on
        # this site and the forms working.
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


@_private
@require_http_methods(["GET", "HEAD", "POST"])
def manage_request(request: HttpRequest) -> HttpResponse:
    form = ManageRequestForm(request.POST if request.method == "POST" else None)
    if not form.is_bound:
        return render(request, "petitions/manage_request.html", {"form": form})
    if not form.is_valid():
        return render(request, "petitions/manage_request.html", {"form": form}, status=422)
    try:
        manage_links.manage_link_request(
            email=form.cleaned_data["email"],
            language=request.LANGUAGE_CODE,
            ip=client_ip(request),
        )
    except manage_links.ManageLinkRateLimitedError:
        # This limit counts only the requester's own requests: it tells nothing about anyone.
        form.add_error("email", _LIMITED)
        return render(request, "petitions/manage_request.html", {"form": form}, status=429)
    # The same page whether or not the address has signed.
    return render(request, "petitions/manage_requested.html")


@_private
@require_http_methods(["GET", "HEAD"])
def manage_erased(request: HttpRequest) -> HttpResponse:
    return render(request, "petitions/manage_erased.html")


def _manage_render(
    request: HttpRequest,
    *,
    token: str,
    supporter: Supporter,
    bound_display: tuple[uuid.UUID, DisplayForm] | None = None,
    erase_form: EraseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = []
    for signature in person.supporter_signatures(supporter=supporter):
        if bound_display is not None and bound_display[0] == signature.public_id:
            form = bound_display[1]
        else:
            form = DisplayForm(
                prefix=str(signature.public_id), initial={"display": signature.display}
            )
        standing = signature.status in (Signature.Status.PENDING, Signature.Status.CONFIRMED)
        rows.append(
            {
                "signature": signature,
                "display_form": form,
                "standing": standing,
                "kept_until": person.signature_retention_ends(signature=signature),
            }
        )
    context = {
        "token": token,
        "supporter": supporter,
        "signatures": rows,
        "consents": list(person.supporter_consents(supporter=supporter)),
        "resumable": person.supporter_consents_resumable(supporter=supporter),
        "erase_form": erase_form or EraseForm(),
        "done": _done_message(request),
        "fraud_window_days": settings.FRAUD_WINDOW_DAYS,
        "retention_notes": person.supporter_retention_notes(supporter=supporter),
    }
    return render(request, "petitions/manage.html", context, status=status)


def _done_message(request: HttpRequest) -> str | None:
    what = request.GET.get("done", "")
    if what == "withdrawn":
        petition = person.petition_by_public_id(public_id=request.GET.get("petition", ""))
        if petition is not None:
            return gettext(
                "Your signature on “%(title)s” is withdrawn and no longer linked to you. It "
                "no longer counts; the petition keeps only an anonymous row (withdrawn, when "
                "it was made, its language and where it came from) so that its numbers stay "
                "true. Nothing in that row points to you."
            ) % {"title": petition.title}
    message = _DONE.get(what)
    return str(message) if message is not None else None


def _done(token: str, what: str, **extra: str) -> HttpResponse:
    query = urlencode({"done": what, **extra})
    return redirect(f"{reverse('signature-manage', args=[token])}?{query}")


@_token_page
@require_http_methods(["GET", "HEAD"])
def manage_page(request: HttpRequest, *, token: str, supporter: Supporter) -> HttpResponse:
    return _manage_render(request, token=token, supporter=supporter)


@_token_page
@require_http_methods(["POST"])
def manage_display(
    request: HttpRequest, *, token: str, supporter: Supporter, signature_id: uuid.UUID
) -> HttpResponse:
    form = DisplayForm(request.POST, prefix=str(signature_id))
    if not form.is_valid():
        self_service.supporter_signature_get(supporter=supporter, signature_public_id=signature_id)
        return _manage_render(
            request,
            token=token,
            supporter=supporter,
            bound_display=(signature_id, form),
            status=422,
        )
    self_service.signature_display_change(
        supporter=supporter, signature_public_id=signature_id, display=form.cleaned_data["display"]
    )
    return _done(token, "display")


@_token_page
@require_http_methods(["GET", "HEAD", "POST"])
def manage_withdraw(
    request: HttpRequest, *, token: str, supporter: Supporter, signature_id: uuid.UUID
) -> HttpResponse:
    if request.method == "POST":
        signature = self_service.signature_withdraw(
            supporter=supporter, signature_public_id=signature_id
        )
        if signature.status != Signature.Status.WITHDRAWN:
            return redirect("signature-manage", token=token)
        return _done(token, "withdrawn", petition=str(signature.petition.public_id))
    signature = self_service.supporter_signature_get(
        supporter=supporter, signature_public_id=signature_id
    )
    if signature.status not in (Signature.Status.PENDING, Signature.Status.CONFIRMED):
        return redirect("signature-manage", token=token)
    context = {"token": token, "signature": signature, "petition": signature.petition}
    return render(request, "petitions/manage_withdraw.html", context)


@_token_page
@require_http_methods(["POST"])
def manage_consent(
    request: HttpRequest, *, token: str, supporter: Supporter, campaign_id: uuid.UUID
) -> HttpResponse:
    self_service.consent_withdraw(supporter=supporter, campaign_public_id=campaign_id)
    return _done(token, "consent")


@_token_page
@require_http_methods(["POST"])
def manage_consent_resume(
    request: HttpRequest, *, token: str, supporter: Supporter, campaign_id: uuid.UUID
) -> HttpResponse:
    resumed = self_service.consent_resume(supporter=supporter, campaign_public_id=campaign_id)
    return _done(token, "consent_resumed" if resumed else "consent_not_resumed")


@_token_page
@require_http_methods(["POST"])
def manage_export(request: HttpRequest, *, token: str, supporter: Supporter) -> HttpResponse:
    data = person.supporter_data_export(supporter=supporter)
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="sbor-my-data.json"'
    return response


@_token_page
@require_http_methods(["POST"])
def manage_erase(request: HttpRequest, *, token: str, supporter: Supporter) -> HttpResponse:
    form = EraseForm(request.POST)
    if not form.is_valid():
        return _manage_render(
            request, token=token, supporter=supporter, erase_form=form, status=422
        )
    erasure.supporter_erase(supporter=supporter)
    return redirect("signature-manage-erased")
