"""Forms for writing and sending updates (the workspace's pages use them)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.services import markdown_validate
from updates.models import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH
from updates.services import UpdateInvalidError, update_content_check


class UpdateForm(forms.Form):
    subject = forms.CharField(
        label=pgettext_lazy("updates", "Subject"),
        max_length=SUBJECT_MAX_LENGTH,
        strip=True,
        error_messages={"required": _("Write a subject.")},
    )
    body = forms.CharField(
        label=pgettext_lazy("updates", "Message"),
        help_text=_(
            "Markdown: a blank line between paragraphs, **bold**, *italic*, "
            "[a link](https://example.org), lists with - or 1. The email adds why the "
            "person gets it and how to stop."
        ),
        max_length=BODY_MAX_LENGTH,
        strip=False,
        validators=[markdown_validate],
        widget=forms.Textarea(attrs={"rows": 14}),
        error_messages={"required": _("Write the message.")},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A valid form goes to the service, which checks (and parses) the message once. A
        # form refused already gets the service's word on its other field here instead, so
        # that both fields get their messages at once; still one parse per request.
        if self.errors:
            try:
                update_content_check(
                    subject=cleaned.get("subject") or "-", body=cleaned.get("body") or "-"
                )
            except UpdateInvalidError as error:
                self.service_errors_add(error, only=set(cleaned))
        return cleaned

    def service_errors_add(
        self, error: UpdateInvalidError, *, only: set[str] | None = None
    ) -> None:
        """Show the service's refusal on the fields it names.

        The form checks only what is cheap (required, lengths, Markdown too costly to
        parse); the service checks the rest when it saves, parsing the message once per
        request, and its errors land here.
        """
        for field, messages in error.errors.items():
            if only is not None and field not in only:
                continue
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class ScheduleForm(forms.Form):
    send_at = forms.DateTimeField(
        label=_("Send at (UTC)"),
        help_text=_("Date and time in UTC, at least a minute from now."),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={
            "required": _("Choose when to send the update."),
            "invalid": _("Enter a date and time, for example 2030-05-01 09:00."),
        },
    )


class TestForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
