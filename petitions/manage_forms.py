"""Forms of the "manage my signature" pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from petitions.forms import signer_email_field
from petitions.models import Signature


class ManageRequestForm(forms.Form):
    email = signer_email_field(help_text=_("The address you signed with. We send the link there."))


class DisplayForm(forms.Form):
    """How the name is shown on one signature; the page prefixes it with the signature id."""

    display = forms.ChoiceField(
        label=_("Show my name on the petition"),
        choices=Signature.Display.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose how your name may be shown."),
            "invalid_choice": _("Choose how your name may be shown."),
        },
    )


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "I understand: my name, email address and choices will be erased, all my "
            "signatures withdrawn, and this cannot be undone."
        ),
        error_messages={"required": _("Tick the box to confirm that you want to be erased.")},
    )
