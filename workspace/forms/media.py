"""A campaign's hero image: upload a new one, describe it, or remove it.

``HeroImageForm`` checks the upload with the service's own reader
(``campaigns.services.media.hero_image_read``): the size Django measured while receiving the
file, then the content. Django streams a file upload to a temporary file instead of holding
it in memory, and ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not count files, so a 20 MB upload
reaches the form and gets a field error here, never a bare 400 page.

The hero page (``workspace:campaign-hero``) uses it alone; the campaign editor shows it
inside its own form with ``prefix="hero"`` and ``optional=True`` (a campaign needs no image,
and a new one has none yet: ``campaign=None``). Either way the form is posted as
``multipart/form-data`` with ``request.FILES``, and ``hero_form_apply`` saves what it asks.
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
    hero_alt_set,
    hero_image_clear,
    hero_image_read,
    hero_image_set,
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

    def __init__(
        self, *args: Any, campaign: Campaign | None, optional: bool = False, **kwargs: Any
    ) -> None:
        kwargs.setdefault("initial", {"hero_alt": campaign.hero_alt if campaign else ""})
        super().__init__(*args, **kwargs)
        # The name of a file chosen before a preview: browsers cannot keep a file input.
        self.file_dropped = ""
        self.has_image = bool(campaign and campaign.hero_image)
        self.optional = optional
        if not self.has_image:
            del self.fields["remove"]

    @property
    def changes_nothing(self) -> bool:
        """Valid, and nothing to save: no image chosen, none to describe or remove."""
        data = self.cleaned_data
        return not data.get("remove") and data.get("image") is None and not self.has_image

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
        if not uploaded and not self.has_image:
            # Optional (the editor): nothing to do, unless a description waits for its image.
            if not self.optional or (cleaned.get("hero_alt") or "").strip():
                self.add_error("image", _("Choose an image to upload."))
            return cleaned
        if not self.has_error("hero_alt"):
            try:
                cleaned["hero_alt"] = hero_alt_clean(alt=cleaned.get("hero_alt") or "")
            except ValidationError as error:
                self.add_error("hero_alt", error)
        return cleaned


def hero_form_apply(*, actor: Any, form: HeroImageForm, campaign: Campaign) -> str:
    """Call the one service a valid form asks for; a message saying what was done ("" for
    nothing). The services check the actor's right again."""
    data = form.cleaned_data
    if form.changes_nothing:
        return ""
    if data.get("remove"):
        hero_image_clear(actor=actor, campaign=campaign)
        return str(_("The image was removed."))
    if data["image"] is not None:
        hero_image_set(actor=actor, campaign=campaign, upload=data["image"], alt=data["hero_alt"])
        return str(_("The image was saved."))
    if data["hero_alt"] == campaign.hero_alt:
        return ""
    hero_alt_set(actor=actor, campaign=campaign, alt=data["hero_alt"])
    return str(_("The description was saved."))
