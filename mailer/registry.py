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

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

if TYPE_CHECKING:
    from mailer.models import Mailing, OutboxMessage


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
    if kind in _BULK_TYPES:
        raise ValueError(f"email kind {kind!r} is already a bulk kind")
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


# --- Bulk mail ------------------------------------------------------------------------------
#
# A bulk kind (say ``"petition_update"``) is registered by its feature app in
# ``AppConfig.ready()`` with ``bulk_email_type_register(kind=…, label=…, build_batch=…)``.
# The mailer calls ``build_batch(mailing, deliveries)`` once per batch of (about 100)
# deliveries, at send time. The builder reads what it needs for the whole batch in a few
# queries and renders each language once, as a ``BulkTemplate`` whose per-recipient parts
# are merge fields (``merge_field("unsubscribe_url")``); each recipient then costs a dict.
# The mailer either substitutes the fields itself and sends one message per recipient over
# one connection (SMTP, and ESPs without batch sending), or hands the templates and the
# per-recipient data to the ESP in one batch call (docs/emails.md, "Bulk mail").

# Lower-case words joined by single underscores: "__" is the mailer's own (the HTML-escaped
# value of ``name`` travels to an ESP as ``name__html``).
MERGE_FIELD_NAME = re.compile(r"[a-z](?:_?[a-z0-9]){0,31}")
# What a merge field looks like in a BulkTemplate: plain ASCII that Django's autoescaping
# leaves alone, so a builder can put ``merge_field(...)`` into an HTML template's context.
_MERGE_FIELD = "[[sbor:{}]]"
MERGE_FIELD_PATTERN = re.compile(r"\[\[sbor:([a-z](?:_?[a-z0-9]){0,31})\]\]")


def merge_field(name: str) -> str:
    """The placeholder for the per-recipient value ``name`` in a ``BulkTemplate``."""
    if not MERGE_FIELD_NAME.fullmatch(name):
        raise ValueError(f"not a merge field name: {name!r}")
    return _MERGE_FIELD.format(name)


@dataclass(frozen=True)
class BulkDelivery:
    """One delivery handed to a builder: the owning app's reference and the language."""

    id: int
    recipient_ref: str
    language: str


@dataclass(frozen=True)
class BulkTemplate:
    """One rendered message with merge fields, shared by the recipients that use it.

    ``subject``, ``text`` and ``html`` may contain ``merge_field(name)`` placeholders; each
    recipient's ``merge_data`` gives their values as plain text (the mailer escapes them
    for the HTML part). Usually one template per language.
    """

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class BulkRecipient:
    """Where one delivery goes, with which template and which per-recipient values.

    ``template`` is a key of ``BulkBatch.templates``. ``merge_data`` must give a value for
    every field the template uses. ``headers`` are this recipient's own headers, e.g.
    ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058). No personal data
    belongs in any other header: providers log them.
    """

    address: str
    template: str
    merge_data: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BulkBatch:
    """What a builder returns for a batch.

    ``recipients`` maps a delivery's id to its ``BulkRecipient``, or to ``None`` when there
    is nobody to write to (address erased, person unsubscribed since planning): the
    delivery is then recorded "skipped". A delivery missing from the map is skipped too.
    """

    templates: dict[str, BulkTemplate]
    recipients: dict[int, BulkRecipient | None]


BatchBuilder = Callable[["Mailing", Sequence[BulkDelivery]], BulkBatch]


@dataclass(frozen=True)
class BulkEmailType:
    kind: str
    label: str | Promise
    build_batch: BatchBuilder


_BULK_TYPES: dict[str, BulkEmailType] = {}


def bulk_email_type_register(
    *, kind: str, label: str | Promise, build_batch: BatchBuilder
) -> BulkEmailType:
    """Register one bulk email kind; registering the same kind again replaces it.

    Call from the owning app's ``AppConfig.ready()``. ``build_batch(mailing, deliveries)``
    is called at send time with a batch of ``BulkDelivery`` and returns a ``BulkBatch``.
    If it raises, the batch goes back to the queue and is tried again later, up to
    ``MAILER_MAX_ATTEMPTS`` times, then fails. A kind names one type in the whole project,
    transactional or bulk.
    """
    if kind in _TYPES:
        raise ValueError(f"email kind {kind!r} is already a transactional kind")
    existing = _BULK_TYPES.get(kind)
    if existing is not None and existing.build_batch.__module__ != build_batch.__module__:
        raise ValueError(
            f"bulk email kind {kind!r} is already registered by {existing.build_batch.__module__}"
        )
    bulk_type = BulkEmailType(kind=kind, label=label, build_batch=build_batch)
    _BULK_TYPES[kind] = bulk_type
    return bulk_type


def bulk_email_type_get(*, kind: str) -> BulkEmailType:
    """The registered bulk kind; raises ``UnknownEmailKindError`` if there is none."""
    try:
        return _BULK_TYPES[kind]
    except KeyError:
        raise UnknownEmailKindError(kind) from None


def bulk_email_types() -> list[BulkEmailType]:
    """Every registered bulk kind, by kind."""
    return [_BULK_TYPES[kind] for kind in sorted(_BULK_TYPES)]
