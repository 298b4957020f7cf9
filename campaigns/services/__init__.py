"""Writes for organisations and campaigns."""

from __future__ import annotations

import markdown
import nh3

from campaigns.models import Campaign, Organisation

# Tags a campaign story may use; anything else (scripts, iframes, styles, event
# handlers) is dropped by nh3, which also forces rel="noopener noreferrer" on links.
_ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "b", "i", "blockquote",
    "ul", "ol", "li", "a", "code", "pre",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def markdown_render(*, text: str) -> str:
    """Markdown → HTML that is safe to insert into a page without escaping."""
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def campaign_save(*, campaign: Campaign) -> Campaign:
    """Save a campaign, re-rendering its story's HTML from its Markdown."""
    campaign.body_html = markdown_render(text=campaign.body)
    campaign.full_clean(exclude=["organisation"])
    campaign.save()
    return campaign


def organisation_upsert(*, slug: str, name: str, website: str = "") -> Organisation:
    organisation, _ = Organisation.objects.update_or_create(
        slug=slug, defaults={"name": name, "website": website}
    )
    return organisation
