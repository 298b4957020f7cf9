"""Small, explicit factories. Each makes one row with sensible defaults; pass what matters."""

from __future__ import annotations

import itertools
from typing import Any

from campaigns.models import Campaign, Organisation
from campaigns.services import campaign_save
from petitions import services
from petitions.models import Petition, Signature

_numbers = itertools.count(1)


def organisation_create(**fields: Any) -> Organisation:
    n = next(_numbers)
    fields.setdefault("slug", f"org-{n}")
    fields.setdefault("name", f"Organisation {n}")
    return Organisation.objects.create(**fields)


def campaign_create(**fields: Any) -> Campaign:
    n = next(_numbers)
    if "organisation" not in fields:
        fields["organisation"] = organisation_create()
    fields.setdefault("slug", f"campaign-{n}")
    fields.setdefault("title", f"Campaign {n}")
    fields.setdefault("body", "A campaign story.\n\nSecond paragraph.")
    fields.setdefault("status", Campaign.Status.PUBLISHED)
    return campaign_save(campaign=Campaign(**fields))


def petition_create(**fields: Any) -> Petition:
    n = next(_numbers)
    if "campaign" not in fields:
        fields["campaign"] = campaign_create()
    fields.setdefault("slug", f"petition-{n}")
    fields.setdefault("title", f"Petition {n}")
    fields.setdefault("ask", "Free everyone who is held without a fair trial.")
    fields.setdefault("target", "The Ministry of Justice")
    fields.setdefault("status", Petition.Status.OPEN)
    return Petition.objects.create(**fields)


def signature_create(
    *, petition: Petition | None = None, confirmed: bool = False, **fields: Any
) -> Signature:
    """A signature made through the real service (so supporters and digests are right)."""
    n = next(_numbers)
    fields.setdefault("email", f"signer{n}@example.org")
    fields.setdefault("name", f"Signer Number{n}")
    result = services.signature_create(petition=petition or petition_create(), **fields)
    signature = result.signature
    if confirmed:
        services.signature_confirm(signature=signature)
    return signature
