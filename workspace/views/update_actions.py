"""Updates, the workspace's actions: send a test, send, schedule, cancel, delete, propose.

Each is a POST that calls one service and says what happened in a message on the update's
page (the services check the member's right again). Sending to everyone needs its
confirmation box ticked (``confirm=yes``): it cannot be undone.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_POST

from campaigns.access import Action
from petitions.models import Petition
from updates import services
from updates.forms import ScheduleForm, TestForm
from updates.models import Update
from workspace.access import campaign_for_member, member_view, signed_in_user
from workspace.views.updates import update_for_member, update_redirect, update_url


@require_POST
@member_view(Action.UPDATE_SEND)
def update_test(request: HttpRequest, campaign: uuid.UUID, update: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    the_update = update_for_member(request, the_campaign, update)
    form = TestForm(request.POST)
    language = form.cleaned_data["language"] if form.is_valid() else the_campaign.language
    user = signed_in_user(request)
    try:
        services.update_test_send(actor=user, update=the_update, language=language)
    except services.UpdateTestTooSoonError:
        messages.error(request, _("A test was sent to you a moment ago. Wait half a minute."))
    except ValueError:
        messages.error(request, _("Your account has no email address to send a test to."))
    else:
        messages.success(
            request, _("A test is on its way to %(address)s.") % {"address": user.email}
        )
    return update_redirect(the_update)


@require_POST
@member_view(Action.UPDATE_SEND)
def update_send(request: HttpRequest, campaign: uuid.UUID, update: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    the_update = update_for_member(request, the_campaign, update)
    if request.POST.get("confirm") != "yes":
        # Sending cannot be undone: the box says the preview was read (browsers ask for it
        # first; this is for one that did not).
        messages.error(
            request,
            _("Nothing was sent: tick the box to confirm that you checked the preview."),
        )
        return update_redirect(the_update)
    try:
        size = services.update_send(actor=signed_in_user(request), update=the_update)
    except services.UpdateAlreadySentError:
        messages.info(
            request, _("This update is already being sent (or was sent): nothing was sent twice.")
        )
    except services.UpdateInvalidError:
        messages.error(request, _("Write a subject and a message before sending."))
    except services.UpdateAudienceEmptyError:
        messages.error(
            request,
            _("Nobody would receive this update: no confirmed signer has agreed to updates yet."),
        )
    else:
        messages.success(
            request,
            ngettext("Sending to %(count)s supporter.", "Sending to %(count)s supporters.", size)
            % {"count": size},
        )
    return update_redirect(the_update)


@require_POST
@member_view(Action.UPDATE_SEND)
def update_schedule(request: HttpRequest, campaign: uuid.UUID, update: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    the_update = update_for_member(request, the_campaign, update)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("send_at", []):
            messages.error(request, str(error))
        return update_redirect(the_update)
    try:
        services.update_schedule(
            actor=signed_in_user(request), update=the_update, when=form.cleaned_data["send_at"]
        )
    except services.UpdateScheduleError:
        messages.error(request, _("Choose a time at least a minute from now and within a year."))
    except services.UpdateAlreadySentError:
        messages.info(request, _("This update is already being sent (or was sent)."))
    except services.UpdateInvalidError:
        messages.error(request, _("Write a subject and a message before scheduling."))
    except services.UpdateAudienceEmptyError:
        messages.error(
            request,
            _("Nobody would receive this update: no confirmed signer has agreed to updates yet."),
        )
    else:
        messages.success(request, pgettext("updates", "Scheduled."))
    return update_redirect(the_update)


@require_POST
@member_view(Action.UPDATE_SEND)
def update_cancel(request: HttpRequest, campaign: uuid.UUID, update: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    the_update = update_for_member(request, the_campaign, update)
    try:
        status = services.update_cancel(actor=signed_in_user(request), update=the_update)
    except services.UpdateNotCancellableError:
        messages.info(
            request, _("There is nothing to cancel: the update is not scheduled or going out.")
        )
    else:
        if status == Update.Status.DRAFT:
            messages.success(request, _("The schedule is cancelled; the update is a draft again."))
        else:
            messages.success(request, _("Stopped. What was already handed over stays sent."))
    return update_redirect(the_update)


@require_POST
@member_view(Action.UPDATE_SEND)
def update_delete(request: HttpRequest, campaign: uuid.UUID, update: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    the_update = update_for_member(request, the_campaign, update)
    if services.update_delete(actor=signed_in_user(request), update=the_update):
        messages.success(request, _("The draft is deleted."))
    else:
        messages.error(request, _("Only a draft can be deleted."))
        return update_redirect(the_update)
    return HttpResponseRedirect(
        reverse(
            "workspace:updates",
            kwargs={"org": the_campaign.organisation.slug, "campaign": the_campaign.public_id},
        )
    )


@require_POST
@member_view(Action.UPDATE_SEND)
def update_propose(request: HttpRequest, campaign: uuid.UUID) -> HttpResponse:
    the_campaign = campaign_for_member(request, campaign)
    try:
        petition = Petition.objects.get(
            campaign=the_campaign, public_id=uuid.UUID(request.POST.get("petition", ""))
        )
    except (ValueError, Petition.DoesNotExist):
        raise Http404("No such petition") from None
    try:
        update = services.update_propose(
            actor=signed_in_user(request), petition=petition, origin=request.POST.get("origin", "")
        )
    except ValueError:
        messages.error(request, _("That petition has no such outcome to tell supporters about."))
        return HttpResponseRedirect(
            reverse(
                "workspace:updates",
                kwargs={"org": the_campaign.organisation.slug, "campaign": the_campaign.public_id},
            )
        )
    messages.success(request, _("A draft is ready: read it, change what you like, then send it."))
    return HttpResponseRedirect(update_url(update, "workspace:update-edit"))
