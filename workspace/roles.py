"""What each role may do, in words for people (invitations, the members page, welcomes).

The rights themselves are ``campaigns.access.RIGHTS``; these sentences describe them.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from campaigns.models import Role

_DESCRIPTIONS: dict[Role, Promise] = {
    Role.OWNER: _(
        "Owners can do everything: campaigns, petitions and updates, the members of the "
        "organisation, the audit log and signers' personal data. They sign in with a second "
        "factor (an authenticator app)."
    ),
    Role.CAMPAIGNER: _(
        "Campaigners can write, publish and close campaigns and petitions, and send updates "
        "to supporters."
    ),
    Role.VIEWER: _("Viewers can see the campaigns and their numbers, and change nothing."),
}


def role_description(role: Role | str) -> Promise:
    return _DESCRIPTIONS[Role(role)]
