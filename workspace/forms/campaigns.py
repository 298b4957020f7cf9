"""The campaign editor's form. The rules (free address, retention bounds, what may change
once published) are the services' (``campaigns.services.editing``); the form checks types
and lengths and shows the services' errors on their fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from campaigns.services import MARKDOWN_MAX_LENGTH, markdown_validate
from campaigns.services.editing import RETENTION_DAYS_MAX, SLUG_MAX_LENGTH


class CampaignForm(forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        help_text=_("The campaign's name, as people will see it."),
    )
    slug = forms.CharField(
        label=_("Web address"),
        max_length=SLUG_MAX_LENGTH,
        required=False,
        help_text=_(
            "Latin letters, digits and hyphens. Leave it empty to make one from the title. "
            "It cannot change once the campaign is published."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    summary = forms.CharField(
        label=_("Summary"),
        max_length=300,
        required=False,
        help_text=_("One or two sentences under the title, also shown when the page is shared."),
    )
    body = forms.CharField(
        label=_("Story"),
        required=False,
        strip=False,
        max_length=MARKDOWN_MAX_LENGTH,
        validators=[markdown_validate],
        help_text=_(
            "Markdown: a blank line between paragraphs, ## before a heading, **bold**, "
            "*italic*, [link text](https://…), a hyphen before each item of a list. "
            "Scripts, frames, images and styles are removed."
        ),
        widget=forms.Textarea(attrs={"rows": 16}),
    )
    language = forms.ChoiceField(
        label=_("Language of the texts"),
        choices=settings.LANGUAGES,
    )
    retention_days = forms.IntegerField(
        label=_("Keep signers' personal data for (days)"),
        min_value=0,
        max_value=RETENTION_DAYS_MAX,
        help_text=_(
            "Counted from the day a petition closes; then names and addresses are erased "
            "and the counts stay. Fewer days protect people at risk better."
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(
        self,
        *args: Any,
        campaign: Campaign | None = None,
        retention_editable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not retention_editable:
            # Only owners set how long signers' data is kept (Action.CAMPAIGN_RETENTION);
            # others see the period as text.
            del self.fields["retention_days"]
        if campaign is not None and campaign.is_public:
            # Links to a published campaign have been shared: its address stays.
            slug = self.fields["slug"]
            slug.disabled = True
            slug.help_text = _("A published campaign keeps its address: links to it are out there.")

    def service_errors_add(self, error: ValidationError) -> None:
        """Show a service's ``ValidationError`` on the fields it names (else above the form)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)
