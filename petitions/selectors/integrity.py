"""The integrity line under a petition's count: what the count includes and leaves out."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.translation import ngettext

from petitions.models import Petition, Signature


@dataclass(frozen=True)
class PetitionIntegrity:
    """The numbers behind a petition's integrity line, as last stored by the periodic task."""

    confirmed: int
    pending: int  # for staff only, never in ``parts``
    withdrawn: int
    invalidated_by_reason: tuple[tuple[str, int], ...]
    paper: int

    @property
    def invalidated(self) -> int:
        return sum(n for _, n in self.invalidated_by_reason)

    @property
    def parts(self) -> list[str]:
        """ "1,204 confirmed", "3 invalidated (…)", …: the public parts that are not zero.

        "Awaiting confirmation" is not among them: it rises when an address that has not
        signed signs, and not when one that has signs again, so watching it would tell
        whether a given address has signed. Staff see it in the admin.
        """
        parts = []
        if self.confirmed or self.invalidated or self.withdrawn or self.paper:
            parts.append(_integrity_part("confirmed", self.confirmed))
        if self.invalidated:
            reasons = ", ".join(
                _integrity_part(reason, n) for reason, n in self.invalidated_by_reason
            )
            parts.append(f"{_integrity_part('invalidated', self.invalidated)} ({reasons})")
        if self.withdrawn:
            parts.append(_integrity_part("withdrawn", self.withdrawn))
        if self.paper:
            parts.append(_integrity_part("paper", self.paper))
        return parts


def _integrity_part(kind: str, n: int) -> str:
    # One ngettext call per wording, so that each gets its own plural forms in Russian.
    if kind == "confirmed":
        text = ngettext("%(n)s confirmed", "%(n)s confirmed", n)
    elif kind == "invalidated":
        text = ngettext("%(n)s invalidated", "%(n)s invalidated", n)
    elif kind == "withdrawn":
        text = ngettext("%(n)s withdrawn", "%(n)s withdrawn", n)
    elif kind == "paper":
        text = ngettext("%(n)s on paper", "%(n)s on paper", n)
    elif kind == Signature.InvalidReason.AUTOMATED:
        text = ngettext("%(n)s automated", "%(n)s automated", n)
    elif kind == Signature.InvalidReason.RATE_LIMIT:
        text = ngettext("%(n)s over the rate limit", "%(n)s over the rate limit", n)
    elif kind == Signature.InvalidReason.BLOCKLIST:
        text = ngettext("%(n)s blocklisted", "%(n)s blocklisted", n)
    elif kind == Signature.InvalidReason.DISPOSABLE:
        text = ngettext("%(n)s from a disposable address", "%(n)s from disposable addresses", n)
    else:
        text = ngettext("%(n)s removed after review", "%(n)s removed after review", n)
    return text % {"n": number_format(n, force_grouping=True)}


def petition_integrity(*, petition: Petition) -> PetitionIntegrity:
    """The integrity line's numbers from the petition row alone: no query, no row counted."""
    stored = petition.integrity if isinstance(petition.integrity, dict) else {}
    invalidated = stored.get("invalidated")
    by_reason = invalidated if isinstance(invalidated, dict) else {}
    order = list(Signature.InvalidReason.values)
    reasons = sorted(
        ((str(reason), int(n)) for reason, n in by_reason.items() if int(n) > 0),
        key=lambda item: (-item[1], order.index(item[0]) if item[0] in order else len(order)),
    )
    return PetitionIntegrity(
        confirmed=petition.signature_count,
        pending=int(stored.get("pending") or 0),
        withdrawn=int(stored.get("withdrawn") or 0),
        invalidated_by_reason=tuple(reasons),
        paper=petition.paper_count,
    )
