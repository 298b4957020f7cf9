"""Forms for a petition in the workspace: its texts and goal, paper signatures, the response.

They turn what was typed into typed values; the services (``petitions.services``) hold the
rules and answer with field errors of the same names, which the views put on these forms.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from petitions.models import Petition
from petitions.services import PAPER_BATCH_MAX, PetitionDetails

_POSITIVE = _("The goal must be a positive number of signatures.")
_PAPER_POSITIVE = _("Give a number of signatures greater than zero.")


class PetitionForm(forms.Form):
    title = forms.CharField(label=_("Title of the petition"), max_length=200)
    ask = forms.CharField(
        label=_("What the petition asks for"),
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    target_name = forms.CharField(
        label=_("Decision maker: name"),
        max_length=200,
        help_text=_("The person or body the petition is addressed to."),
    )
    target_position = forms.CharField(
        label=_("Decision maker: position"), max_length=200, required=False
    )
    target_organisation = forms.CharField(
        label=_("Decision maker: organisation"), max_length=200, required=False
    )
    language = forms.ChoiceField(label=_("Language of the petition"), choices=settings.LANGUAGES)
    goal_kind = forms.ChoiceField(
        label=pgettext_lazy("petition", "Goal"),
        choices=Petition.GoalKind.choices,
        widget=forms.RadioSelect,
        initial=Petition.GoalKind.LADDER,
        help_text=_(
            "With the first choice, the goal shown is the first of 100, 500, 1 000, 5 000, "
            "10 000, 50 000, … above the count."
        ),
    )
    goal_fixed = forms.IntegerField(
        label=_("Fixed goal (signatures)"),
        required=False,
        min_value=1,
        error_messages={"min_value": _POSITIVE},
        help_text=_("Only for a fixed goal."),
    )
    closes_at = forms.DateTimeField(
        label=_("Deadline (UTC)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Optional. After it the petition stops taking signatures and closes."),
    )
    slug = forms.SlugField(
        label=pgettext_lazy("petition", "Address"),
        max_length=80,
        required=False,
        help_text=_(
            "Used in the petition's links, such as /p/<address>/embed/. Latin letters, numbers "
            "and hyphens; made from the title when left empty. It cannot change once the "
            "petition is open."
        ),
    )

    def __init__(self, *args: Any, slug_editable: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not slug_editable:
            del self.fields["slug"]

    def clean_closes_at(self) -> Any:
        # The service checks this too; here it shows along with the form's other errors.
        closes_at = self.cleaned_data.get("closes_at")
        initial = self.initial.get("closes_at")
        if initial is not None and closes_at == initial.replace(second=0, microsecond=0):
            return initial  # shown to the minute, kept as stored
        if closes_at is not None and closes_at <= timezone.now():
            raise forms.ValidationError(_("The deadline must be in the future."))
        return closes_at

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        fixed = cleaned.get("goal_kind") == Petition.GoalKind.FIXED
        if fixed and cleaned.get("goal_fixed") is None and "goal_fixed" not in self.errors:
            self.add_error("goal_fixed", _("Give the number of signatures the petition aims for."))
        return cleaned

    def details(self) -> PetitionDetails:
        data = self.cleaned_data
        return PetitionDetails(
            title=data["title"],
            ask=data["ask"],
            target_name=data["target_name"],
            target_position=data["target_position"],
            target_organisation=data["target_organisation"],
            language=data["language"],
            goal_kind=data["goal_kind"],
            goal_fixed=data["goal_fixed"],
            closes_at=data["closes_at"],
        )

    @staticmethod
    def initial_from(petition: Petition) -> dict[str, Any]:
        fields = [
            "title", "ask", "target_name", "target_position", "target_organisation",
            "language", "goal_kind", "goal_fixed", "closes_at", "slug",
        ]  # fmt: skip
        return {field: getattr(petition, field) for field in fields}


class PaperBatchForm(forms.Form):
    count = forms.IntegerField(
        label=_("Number of signatures"),
        min_value=1,
        max_value=PAPER_BATCH_MAX,
        error_messages={"min_value": _PAPER_POSITIVE},
    )
    collected_by = forms.CharField(
        label=_("Collected by"),
        max_length=200,
        help_text=_("Who collected them, e.g. “Volunteers in Perm”. Not the names of signers."),
    )
    collected_on = forms.DateField(
        label=_("Date collected"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "paper")
        kwargs.setdefault("initial", {"collected_on": timezone.localdate()})
        super().__init__(*args, **kwargs)


class TargetResponseForm(forms.Form):
    text = forms.CharField(
        label=_("The response, or a summary of it"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Shown on the public page under the petition, with its date."),
    )
    date = forms.DateField(
        label=_("Date of the response"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, petition: Petition | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "response")
        if petition is not None and petition.response_text:
            kwargs.setdefault(
                "initial", {"text": petition.response_text, "date": petition.response_date}
            )
        super().__init__(*args, **kwargs)
