"""Which emails exist: feature apps register their email types here; the mailer sends them.

The mailer knows recipients, messages and deliveries, not causes. A feature app (say
``petitions``) registers each of its email types in its ``AppConfig.ready()``:

- ``kind``: the name stored on every outbox row (``OutboxMessage.kind``), e.g.
  ``"signature_confirm"``;
- ``label``: what staff see in the admin (translatable);
- ``build``: a function ``(message) -> Envelope | None`` the mailer calls at send time.
  It reads what the row refers to (``message.recipient_ref``, ``message.about``, both
  the feature app's own references) and returns the address to write to and the
  template context. It returns ``None`` when there is nobody to write to (the address
  was dropped or erased): the row then fails with ``NO_ADDRESS_ERROR`` and is never
  retried. Anything it raises marks the row failed as a rendering error. Reading the
  address here, not when the row is written, is what keeps an erased address unmailed.
- ``templates``: the prefix of the three templates, by default ``emails/<kind>``:
  ``<prefix>.subject.txt``, ``<prefix>.txt`` and ``<prefix>.html``.

See docs/emails.md ("Adding an email type").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

if TYPE_CHECKING:
    from mailer.models import OutboxMessage


@dataclass(frozen=True)
class Envelope:
    """Where one message goes and what its templates are given, read at send time."""

    address: str
    context: dict[str, Any]


Builder = Callable[["OutboxMessage"], Envelope | None]


@dataclass(frozen=True)
class EmailType:
    kind: str
    label: str | Promise
    build: Builder
    templates: str


class UnknownEmailKindError(LookupError):
    """No feature app registered this kind (a typo, or the app is not installed)."""


_TYPES: dict[str, EmailType] = {}


def email_type_register(
    *, kind: str, label: str | Promise, build: Builder, templates: str | None = None
) -> EmailType:
    """Register one email type; registering the same kind again replaces it.

    Call from the owning app's ``AppConfig.ready()``. A kind names one type in the whole
    project: two apps cannot both own ``"signature_confirm"``.
    """
    existing = _TYPES.get(kind)
    email_type = EmailType(
        kind=kind, label=label, build=build, templates=templates or f"emails/{kind}"
    )
    if existing is not None and existing.build.__module__ != build.__module__:
        raise ValueError(
            f"email kind {kind!r} is already registered by {existing.build.__module__}"
        )
    _TYPES[kind] = email_type
    return email_type


def email_type_get(*, kind: str) -> EmailType:
    """The registered type of ``kind``; raises ``UnknownEmailKindError`` if there is none."""
    try:
        return _TYPES[kind]
    except KeyError:
        raise UnknownEmailKindError(kind) from None


def email_types() -> list[EmailType]:
    """Every registered type, by kind."""
    return [_TYPES[kind] for kind in sorted(_TYPES)]
