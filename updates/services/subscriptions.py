"""What the links in an update do: unsubscribe at once, and the preferences page's choices.

Every function takes the link's token, so everything is scoped to the person and the
campaign it was made for (and, on the preferences page, to that campaign's organisation).
A link only ever stops mail: whoever holds the email can use it, so hearing from a campaign
again is the person's own choice on their manage page, whose link is mailed to their
address. The consent itself is petitions' (``petitions.services.subscriptions``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from campaigns.models import Campaign
from petitions.models import Supporter
from petitions.selectors import audience
from petitions.services import subscriptions
from updates import tokens


class SubscriptionLinkInvalidError(Exception):
    """The token is forged, damaged or made for something else."""


class SubscriptionNotFoundError(Exception):
    """The campaign is not one the person agreed to hear from (in that organisation)."""


@dataclass(frozen=True)
class SubscriptionLink:
    """Whom and what a genuine link is about. Either may be gone: a person erased since the
    email was sent, a campaign deleted. Nothing is sent to them then, and nothing is left
    to change. An ``expired`` link still unsubscribes; it opens nothing else."""

    supporter: Supporter | None
    campaign: Campaign | None
    expired: bool = False


def subscription_link_read(*, token: str) -> SubscriptionLink:
    """The person and campaign of a link, expired or not; raises
    ``SubscriptionLinkInvalidError`` for a token we did not make for these links."""
    try:
        ref = tokens.subscription_token_read(token)
    except tokens.SubscriptionTokenInvalid:
        raise SubscriptionLinkInvalidError from None
    campaign = (
        Campaign.objects.select_related("organisation")
        .filter(public_id=ref.campaign_public_id)
        .first()
    )
    supporter = audience.supporter_by_public_id(public_id=ref.supporter_public_id)
    return SubscriptionLink(supporter=supporter, campaign=campaign, expired=ref.expired)


def subscription_stop(*, link: SubscriptionLink) -> bool:
    """Unsubscribe the person from the link's campaign, at once; True if that changed
    anything (False: already unsubscribed, or nobody left to unsubscribe)."""
    if link.supporter is None or link.campaign is None:
        return False
    return subscriptions.updates_unsubscribe(supporter=link.supporter, campaign_id=link.campaign.pk)


def subscription_stop_all(*, link: SubscriptionLink) -> int:
    """Unsubscribe the person from every campaign, of every organisation; how many changed.

    The page says so without saying whether other organisations' campaigns are among them.
    """
    if link.supporter is None:
        return 0
    return subscriptions.updates_unsubscribe_all(supporter=link.supporter)


def _subscription_of(
    *, link: SubscriptionLink, campaign_public_id: uuid.UUID
) -> tuple[Supporter, int]:
    """The person and the id of one of the organisation's campaigns they agreed to hear from."""
    supporter, campaign = link.supporter, link.campaign
    if supporter is None or campaign is None:
        raise SubscriptionNotFoundError
    for subscription in audience.supporter_subscriptions(
        supporter=supporter, organisation_id=campaign.organisation_id
    ):
        if subscription.campaign_public_id == campaign_public_id:
            return supporter, subscription.campaign_id
    raise SubscriptionNotFoundError


def subscription_stop_one(*, link: SubscriptionLink, campaign_public_id: uuid.UUID) -> bool:
    """Unsubscribe from one of the organisation's campaigns the person hears from."""
    supporter, campaign_id = _subscription_of(link=link, campaign_public_id=campaign_public_id)
    return subscriptions.updates_unsubscribe(supporter=supporter, campaign_id=campaign_id)
