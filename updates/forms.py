"""Forms for writing and sending updates (the workspace's pages use them)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
        widget=forms.Textarea(attrs={"rows": 14}),
        error_messages={"required": _("Write the message.")},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Each field is checked on its own, so both get their message at once; a field
        # that already failed (empty, too long) is not checked again.
        try:
            update_content_check(
                subject=cleaned.get("subject") or "-", body=cleaned.get("body") or "-"
            )
        except UpdateInvalidError as error:
            for field, messages in error.errors.items():
                if field in cleaned:
                    for message in messages:
                        self.add_error(field, message)
        return cleaned


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
