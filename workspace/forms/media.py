"""A campaign's hero image: upload a new one, describe it, or remove it.

``HeroImageForm`` checks the upload with the service's own reader
(``campaigns.services.media.hero_image_read``): the size Django measured while receiving the
file, then the content. Django streams a file upload to a temporary file instead of holding
it in memory, and ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not count files, so a 20 MB upload
reaches the form and gets a field error here, never a bare 400 page.

The campaign editor may show it on its own page with a prefix (``prefix="hero"``); the form
must then be posted as ``multipart/form-data`` with ``request.FILES``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from campaigns.services.media import (
    ACCEPTED_TYPES,
    ALT_MAX_LENGTH,
    HeroSource,
    hero_alt_clean,
    hero_image_read,
)


class HeroImageForm(forms.Form):
    image = forms.FileField(
        label=_("Image file"),
        required=False,
        help_text=_(
            "JPEG, PNG, WebP or GIF, at least 320 pixels wide. Landscape works best, for "
            "example 1600 × 900. We remove the photo's hidden data (camera, place, time)."  # noqa: RUF001 - the sign of image sizes
        ),
        widget=forms.FileInput(attrs={"accept": ACCEPTED_TYPES}),
    )
    hero_alt = forms.CharField(
        label=_("Description of the image"),
        required=False,
        max_length=ALT_MAX_LENGTH,
        help_text=_(
            "Read aloud to people who cannot see the image. Say what it shows in a sentence."
        ),
    )
    remove = forms.BooleanField(label=_("Remove the image"), required=False)

    def __init__(self, *args: Any, campaign: Campaign, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"hero_alt": campaign.hero_alt})
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        if not campaign.hero_image:
            del self.fields["remove"]

    def clean_image(self) -> HeroSource | None:
        upload = self.cleaned_data.get("image")
        if not upload:
            return None
        return hero_image_read(upload=upload)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        # A refused upload still counts as "a new image was chosen" for the checks below.
        uploaded = cleaned.get("image") is not None or self.has_error("image")
        if cleaned.get("remove"):
            if uploaded:
                self.add_error(
                    "remove",
                    _("Either upload a new image or remove the current one, not both."),
                )
            return cleaned
        if not uploaded and not self.campaign.hero_image:
            self.add_error("image", _("Choose an image to upload."))
            return cleaned
        if not self.has_error("hero_alt"):
            try:
                cleaned["hero_alt"] = hero_alt_clean(alt=cleaned.get("hero_alt") or "")
            except ValidationError as error:
                self.add_error("hero_alt", error)
        return cleaned
