"""Signing and confirming. GET requests never change anything: mail scanners follow links."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from petitions import services
from petitions.campaign_page import campaign_page_render
from petitions.forms import ConfirmCodeForm, ConfirmReviewForm, SignForm
from petitions.models import Petition, SignAttempt, Signature
from petitions.selectors import display_name, petition_get_public, petition_goal_shown
from petitions.share import share_links
from trust.network import client_ip
from trust.services import confirm_code_attempt_allowed


def _petition_closed(request: HttpRequest, *, petition: Petition, form: SignForm) -> HttpResponse:
    error = _("This petition is closed and no longer takes signatures.")
    return campaign_page_render(
        request, campaign=petition.campaign, bound=(petition, form), error=error, status=409
    )


def _challenge_failed(request: HttpRequest, *, petition: Petition, form: SignForm) -> HttpResponse:
    # A person whose browser could not do the work, or who pressed Sign within seconds of
    # the page appearing, lands here: keep what they typed and ask them to press Sign again
    # (the page carries a fresh challenge and wait token). A script lands here too, and
    # nothing is stored either way.
    error = _(
        "This petition is receiving many signatures. To keep robots out, please wait a few "
        "seconds and press Sign again."
    )
    return campaign_page_render(
        request, campaign=petition.campaign, bound=(petition, form), error=error, status=422
    )


@require_http_methods(["GET", "HEAD", "POST"])
def petition_sign(request: HttpRequest, slug: str) -> HttpResponse:
    petition = petition_get_public(slug=slug)
    if request.method != "POST":
        # Someone reloaded or bookmarked the form's address: show them the form.
        url = reverse("campaign", args=[petition.campaign.slug])
        return redirect(f"{url}#petition-{petition.slug}")
    form = SignForm(request.POST, auto_id=f"id_{petition.slug}_%s")
    try:
        services.signing_gate_enter(petition=petition)
    except services.SigningPausedError as exc:
        # Staff paused all signing: nothing is stored, and the page says so.
        return campaign_page_render(
            request,
            campaign=petition.campaign,
            bound=(petition, form),
            error=exc.message,
            status=503,
        )
    except services.PetitionClosedError:
        return _petition_closed(request, petition=petition, form=form)
    if not form.is_valid():
        return campaign_page_render(
            request, campaign=petition.campaign, bound=(petition, form), status=422
        )
    try:
        services.signing_challenge_check(
            petition=petition,
            payload=request.POST.get("altcha", ""),
            wait_token=request.POST.get("challenge_wait", ""),
        )
    except services.ChallengeFailedError:
        return _challenge_failed(request, petition=petition, form=form)
    try:
        services.sign_attempt_create(
            petition=petition,
            **form.signature_fields(),
            language=request.LANGUAGE_CODE,
            client_ip=client_ip(request),
        )
    except services.PetitionClosedError:
        return _petition_closed(request, petition=petition, form=form)
    # The same answer whether this address signed before, is flagged, or is a script's.
    return redirect("petition-thanks", slug=petition.slug)


def _share_context(request: HttpRequest, petition: Petition) -> dict[str, object]:
    url = request.build_absolute_uri(reverse("campaign", args=[petition.campaign.slug]))
    text = petition.title
    return {
        "petition": petition,
        "campaign": petition.campaign,
        "share_url": url,
        "share_links": share_links(url=url, text=text),
        "count": petition.signature_count,
        "goal": petition_goal_shown(petition=petition),
    }


def petition_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    petition = petition_get_public(slug=slug)
    return render(request, "petitions/thanks.html", _share_context(request, petition))


def petition_confirmed(request: HttpRequest, slug: str) -> HttpResponse:
    petition = petition_get_public(slug=slug)
    return render(request, "petitions/confirmed.html", _share_context(request, petition))


def _link_invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "petitions/confirm_invalid.html", status=400)


def _review_form(attempt: SignAttempt, data: object = None) -> ConfirmReviewForm:
    """The confirmation page's form, prefilled with what the attempt typed.

    Except consent to updates, which is never ticked in advance: whoever typed the address
    may not be its owner, and consent counts only when the person reading this email
    ticks it themselves.
    """
    initial = {
        "name": attempt.name,
        "country": attempt.country,
        "display": attempt.display,
        "consent_updates": False,
    }
    return ConfirmReviewForm(data, initial=initial, auto_id="id_confirm_%s")


# A POST carrying none of the form's fields (a client that only presses the button):
# it confirms the values the page showed, consent unticked. A browser always sends name
# and display.
_REVIEW_FIELDS = ("name", "display", "country", "consent_updates")


def _confirm_page(
    request: HttpRequest, *, attempt: SignAttempt, token: str, form: ConfirmReviewForm, status: int
) -> HttpResponse:
    # The preview follows what the form holds: the attempt's values, or those just typed.
    values = form.data if form.is_bound else form.initial
    shown_name = display_name(
        name=" ".join(str(values.get("name", "")).split()), display=str(values.get("display", ""))
    )
    context = {
        "petition": attempt.petition,
        "signature": attempt.signature,
        "token": token,
        "form": form,
        "shown_name": shown_name,
    }
    return render(request, "petitions/confirm.html", context, status=status)


@require_http_methods(["GET", "POST"])
def signature_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        attempt = services.sign_attempt_from_token(token=token)
    except services.ConfirmationInvalidError:
        return _link_invalid(request)
    petition, signature = attempt.petition, attempt.signature
    form = _review_form(attempt)
    if request.method == "POST":
        review = services.SignerReview(
            name=attempt.name,
            country=attempt.country,
            display=attempt.display,
            consent_updates=False,
        )
        if any(key in request.POST for key in _REVIEW_FIELDS):
            form = _review_form(attempt, request.POST)
            if not form.is_valid():
                return _confirm_page(request, attempt=attempt, token=token, form=form, status=400)
            review = form.review()
        services.signature_confirm(sign_attempt=attempt, review=review)
        if signature is None or signature.status != Signature.Status.CONFIRMED:
            return _link_invalid(request)
        return redirect("petition-confirmed", slug=petition.slug)
    return _confirm_page(request, attempt=attempt, token=token, form=form, status=200)


# Pending leads to the review; confirmed to the page saying so, as a second click would.
_CONFIRMABLE = (Signature.Status.PENDING, Signature.Status.CONFIRMED)


@require_http_methods(["GET", "POST"])
def signature_confirm_code(request: HttpRequest, slug: str) -> HttpResponse:
    petition = petition_get_public(slug=slug)
    # Bound on every POST, even an empty one: the rate-limit answer adds an error to it.
    form = ConfirmCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not confirm_code_attempt_allowed(ip=client_ip(request)):
        form.is_valid()  # so that the typed code is shown again
        form.add_error(
            "code",
            _(
                "Too many codes were tried from your connection. Please wait an hour, or "
                "use the link in the email instead."
            ),
        )
        return render(
            request, "petitions/confirm_code.html", {"petition": petition, "form": form}, status=429
        )
    if request.method == "POST" and form.is_valid():
        try:
            attempt = services.sign_attempt_from_code(
                petition=petition, code=form.cleaned_data["code"]
            )
        except services.ConfirmationInvalidError:
            form.add_error(
                "code",
                _(
                    "This code is not valid or has expired. Check it against the email, "
                    "or sign again to get a new one."
                ),
            )
        else:
            signature = attempt.signature
            if signature is not None and signature.status in _CONFIRMABLE:
                # The code leads to the same review as the emailed link: confirming takes
                # what the person chooses there, never the attempt's values unseen.
                token = services.sign_attempt_confirm_token(sign_attempt=attempt)
                return redirect("signature-confirm", token=token)
            form.add_error("code", _("This signature can no longer be confirmed."))
    status = 400 if form.is_bound else 200
    return render(
        request, "petitions/confirm_code.html", {"petition": petition, "form": form}, status=status
    )
