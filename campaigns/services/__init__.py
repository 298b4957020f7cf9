"""Writes for organisations and campaigns."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from campaigns.models import Campaign, Organisation
from campaigns.services.markdown import (
    MARKDOWN_MAX_LENGTH,
    RenderedMarkdown,
    markdown_problems,
    markdown_render,
    markdown_render_detailed,
    markdown_validate,
)

__all__ = [
    "MARKDOWN_MAX_LENGTH",
    "RenderedMarkdown",
    "campaign_save",
    "markdown_problems",
    "markdown_render",
    "markdown_render_detailed",
    "markdown_validate",
    "organisation_upsert",
]


def campaign_save(*, campaign: Campaign) -> Campaign:
    """Save a campaign, re-rendering its story's HTML from its Markdown.

    Raises ``ValidationError`` on ``body`` for a story too long or too costly to format
    (``markdown_problems``): nothing is parsed or saved then.
    """
    try:
        campaign.body_html = markdown_render(text=campaign.body)
    except ValidationError as error:
        raise ValidationError({"body": error.messages}) from None
    campaign.full_clean(exclude=["organisation"])
    campaign.save()
    return campaign


def organisation_upsert(*, slug: str, name: str, website: str = "") -> Organisation:
    organisation, _ = Organisation.objects.update_or_create(
        slug=slug, defaults={"name": name, "website": website}
    )
    return organisation
