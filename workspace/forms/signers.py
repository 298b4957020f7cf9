"""Forms of the owners' staff tools: signer criteria, the invalidation reason, the lockdown.

They only read and check what was typed; the criteria become a ``SignatureCriteria`` that
``petitions.services.organisation_review`` confines to the organisation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Organisation
from petitions.models import InvalidationBatch, Petition, Signature
from petitions.selectors import organisation_petitions
from petitions.selectors.criteria import CriteriaError, SignatureCriteria, signature_criteria_q


class _DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


if TYPE_CHECKING:
    _ModelChoiceField = forms.ModelChoiceField[Petition]
else:  # Django's class takes no type argument at run time
    _ModelChoiceField = forms.ModelChoiceField


class _PetitionField(_ModelChoiceField):
    def label_from_instance(self, obj: Petition) -> str:
        return f"{obj.title} ({obj.campaign.title})"


class SignerCriteriaForm(forms.Form):
    """What to look for among the organisation's signatures (sent by GET, kept in links)."""

    petition = _PetitionField(
        label=_("Petition"),
        queryset=Petition.objects.none(),  # the organisation's, set in __init__
        to_field_name="public_id",
        required=False,
        empty_label=_("Any petition"),
    )
    email = forms.CharField(
        label=_("Email address"),
        required=False,
        max_length=254,
        help_text=_("One exact address. It is compared by its keyed hash and never stored."),
    )
    domain = forms.CharField(
        label=_("Email domain"),
        required=False,
        max_length=253,
        help_text=_("For example example.org (its subdomains too). Only a keyed hash is kept."),
    )
    ip = forms.CharField(
        label=_("IP address or range"),
        required=False,
        max_length=64,
        help_text=_(
            "An address (203.0.113.7) or a range (203.0.113.0/24). Only hashes are kept, "
            "for 30 days."
        ),
    )
    created_from = forms.DateTimeField(
        label=_("Signed at or after (UTC)"), required=False, widget=_DateTimeInput()
    )
    created_to = forms.DateTimeField(
        label=_("Signed before (UTC)"), required=False, widget=_DateTimeInput()
    )
    statuses = forms.MultipleChoiceField(
        label=_("Status"),
        choices=Signature.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any status."),
    )

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        petition_field = self.fields["petition"]
        assert isinstance(petition_field, _PetitionField)
        petition_field.queryset = organisation_petitions(organisation=organisation)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("email", "domain", "ip"):
            if cleaned.get(name):
                try:
                    signature_criteria_q(criteria=SignatureCriteria(**{name: cleaned[name]}))
                except CriteriaError as exc:
                    self.add_error(name, str(exc))
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start >= end:
            self.add_error("created_to", _("The end must come after the start."))
        if not self.errors and self.criteria().is_empty():
            raise forms.ValidationError(
                _("Give at least one criterion: a petition, an address, a domain, an IP or a time.")
            )
        return cleaned

    def criteria(self) -> SignatureCriteria:
        data = self.cleaned_data
        return SignatureCriteria(
            petition=data.get("petition"),
            email=data.get("email") or "",
            domain=data.get("domain") or "",
            ip=data.get("ip") or "",
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            statuses=tuple(data.get("statuses") or ()),
        )


class InvalidationReasonForm(forms.Form):
    category = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", _("Choose a reason")), *InvalidationBatch.Category.choices],
    )
    reason = forms.CharField(
        label=_("Note"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Recorded with the invalidation and in the audit log. "
            "Do not write names or addresses here."
        ),
    )


class LockdownForm(forms.Form):
    confirm_slug = forms.CharField(
        label=_("Type the campaign's slug to confirm"),
        max_length=80,
        help_text=_("Exactly as shown above. This cannot be undone."),
    )
