"""Turning a builder's templates and per-recipient data into messages to hand over.

Two ways, chosen by the backend:

- one message per recipient, merge fields filled in here, all over one connection (SMTP,
  and ESPs whose batch sending Sbor does not drive);
- one ESP call per batch and template (``BatchApi``): the template goes with the ESP's own
  merge syntax, and each recipient's values as anymail's ``merge_data``, their headers as
  ``merge_headers``, their delivery id as ``merge_metadata``.

Either way: no open or click tracking, and nothing personal in tags or metadata, only the
delivery's id.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import make_msgid
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.utils.html import escape
from django.utils.module_loading import import_string

from mailer.registry import MERGE_FIELD_PATTERN, BulkRecipient, BulkTemplate

# RFC 3834: automated mail says so, which also stops vacation auto-replies. "Precedence:
# bulk" is the older way to say the same to the mail systems that still read it.
BULK_HEADERS = {
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "All",
    "Precedence": "bulk",
}
HTML_SUFFIX = "__html"
_NOT_BARE = frozenset("<>\"'(),;: \t\r\n")


class MergeError(ValueError):
    """The builder's data does not fit its template (a missing field, a bad header)."""


@dataclass(frozen=True)
class _Compiled:
    # Literal text and field names, alternating: even indices literal, odd ones fields.
    parts: tuple[str, ...]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.parts[1::2])

    def fill(self, values: dict[str, str], convert: Callable[[str], str]) -> str:
        parts = self.parts
        out = [parts[0]]
        for index in range(1, len(parts), 2):
            out.append(convert(values[parts[index]]))
            out.append(parts[index + 1])
        return "".join(out)


@dataclass(frozen=True)
class CompiledTemplate:
    subject: _Compiled
    text: _Compiled
    html: _Compiled

    @property
    def fields(self) -> frozenset[str]:
        return self.subject.fields | self.text.fields | self.html.fields


def template_compile(template: BulkTemplate) -> CompiledTemplate:
    return CompiledTemplate(
        subject=_Compiled(tuple(MERGE_FIELD_PATTERN.split(" ".join(template.subject.split())))),
        text=_Compiled(tuple(MERGE_FIELD_PATTERN.split(template.text))),
        html=_Compiled(tuple(MERGE_FIELD_PATTERN.split(template.html))),
    )


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _same(value: str) -> str:
    return value


def recipient_check(*, recipient: BulkRecipient, template: CompiledTemplate) -> None:
    """Raise ``MergeError`` unless the recipient's data fills its template and is safe."""
    missing = template.fields - recipient.merge_data.keys()
    if missing:
        raise MergeError(f"merge field(s) missing: {', '.join(sorted(missing))}")
    for name, value in recipient.headers.items():
        if "\n" in name or "\r" in name or "\n" in value or "\r" in value:
            raise MergeError("a header cannot hold a line break")
    # A bare address (name@domain): it keys the ESP's per-recipient data, as anymail reads
    # it from the To list, so "Name <name@domain>" would leave the merge fields empty.
    address = recipient.address
    if address.count("@") != 1 or any(c in _NOT_BARE for c in address):
        raise MergeError("an address must be bare: name@domain, no display name")


def message_id_new() -> str:
    return make_msgid(domain=DNS_NAME.get_fqdn())


def message_one(
    *,
    delivery_id: int,
    recipient: BulkRecipient,
    template: CompiledTemplate,
    connection: Any,
    message_id: str,
) -> EmailMultiAlternatives:
    """One recipient's message, merge fields filled in (HTML values escaped)."""
    values = recipient.merge_data
    email = EmailMultiAlternatives(
        subject=template.subject.fill(values, _one_line),
        body=template.text.fill(values, _same),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.address],
        headers={**BULK_HEADERS, **recipient.headers, "Message-ID": message_id},
        connection=connection,
    )
    email.attach_alternative(template.html.fill(values, escape), "text/html")
    _untracked(email, metadata={"delivery": str(delivery_id)})
    return email


def _untracked(email: Any, *, metadata: dict[str, str] | None = None) -> None:
    # Anymail's attributes; Django's SMTP backend ignores them.
    email.track_opens = False
    email.track_clicks = False
    email.tags = []
    if metadata is not None:
        email.metadata = metadata


class Neutralise(Protocol):
    """Break up, in a literal piece of a template, anything the ESP would substitute.

    ``html``: the piece is HTML source (an entity may stand for a character); else plain
    text (subject, text part), where an invisible zero-width joiner is inserted.
    ``after_field``: the piece follows one of our field references directly, so its start
    could complete the reference's closing delimiter into a new one.
    """

    def __call__(self, literal: str, *, html: bool, after_field: bool) -> str: ...


@dataclass(frozen=True)
class BatchApi:
    """How one ESP family takes a batch: its merge syntax, how to make text inert to that
    syntax, and its size limit.

    Everything in a template but our own field references goes through ``neutralise``
    (and so does every per-recipient value), so the ESP substitutes only what the mailer
    put there: text an organiser wrote in the ESP's own syntax (``%recipient.x%``) stays
    text instead of pulling in another field, a header or the delivery's metadata.
    """

    name: str
    field: Callable[[str], str]
    neutralise: Neutralise
    max_recipients: int


ZWJ = "\u200d"


def _test_field(name: str) -> str:
    return "{{" + name + "}}"


_TEST_OPENING = re.compile(r"\{(?=\{)")


def _test_neutralise(literal: str, *, html: bool, after_field: bool) -> str:
    # "{{", and a brace that would turn one of ours into "{{{name}}}", Handlebars' raw form.
    brace = "&#123;" if html else "{" + ZWJ
    out = _TEST_OPENING.sub(brace, literal)
    if out.endswith("{"):
        out = out[:-1] + brace
    if after_field and out.startswith("}"):
        out = ("&#125;" if html else ZWJ + "}") + out[1:]
    return out


# What Mailgun substitutes: recipient variables (%recipient.name%, which also reach
# anymail's "v:" metadata and "h:" headers), the mailing-list forms (%recipient%,
# %recipient_email%, %recipient_name%, ...) and its own unsubscribe links
# (%unsubscribe_url%, %tag_unsubscribe_url%, %mailing_list_unsubscribe_url%, ...).
_MAILGUN_NAME = r"(?:recipient|[a-z_]*unsubscribe)"
_MAILGUN_VARIABLE = re.compile(r"%(?=" + _MAILGUN_NAME + ")", re.IGNORECASE)
_MAILGUN_NAME_START = re.compile(_MAILGUN_NAME, re.IGNORECASE)


def _mailgun_field(name: str) -> str:
    return f"%recipient.{name}%"


def _mailgun_neutralise(literal: str, *, html: bool, after_field: bool) -> str:
    out = _MAILGUN_VARIABLE.sub("&#37;" if html else "%" + ZWJ, literal)
    # Right after one of ours, "recipient.x%" would make "%recipient.x%" with its closing "%".
    if after_field and _MAILGUN_NAME_START.match(out):
        out = ("&#8205;" if html else ZWJ) + out
    return out


# Backend class path → its batch API. A subclass of a listed backend counts as listed.
BATCH_APIS: dict[str, BatchApi] = {
    "anymail.backends.test.EmailBackend": BatchApi(
        "test", field=_test_field, neutralise=_test_neutralise, max_recipients=1000
    ),
    "anymail.backends.mailgun.EmailBackend": BatchApi(
        "mailgun", field=_mailgun_field, neutralise=_mailgun_neutralise, max_recipients=1000
    ),
}


@cache
def _batch_api_for(backend_path: str) -> BatchApi | None:
    backend = import_string(backend_path)
    for path, api in BATCH_APIS.items():
        if issubclass(backend, import_string(path)):
            return api
    return None


def batch_api() -> BatchApi | None:
    """The ESP batch API of the configured backend, or None to send one by one."""
    if settings.MAILER_BULK_BATCH_API == "off":
        return None
    return _batch_api_for(settings.EMAIL_BACKEND)


def _esp_template(compiled: _Compiled, api: BatchApi, *, html: bool) -> str:
    """The template in the ESP's syntax: our fields as its references, all else inert.

    Field names never contain "__" (``MERGE_FIELD_NAME``), so ``<name>__html`` cannot be a
    text field: the HTML part references only escaped values, the text part only plain ones.
    """
    parts = compiled.parts
    out = [api.neutralise(parts[0], html=html, after_field=False)]
    for index in range(1, len(parts), 2):
        out.append(api.field(parts[index] + HTML_SUFFIX if html else parts[index]))
        out.append(api.neutralise(parts[index + 1], html=html, after_field=True))
    return "".join(out)


def message_batch(
    *,
    api: BatchApi,
    template: CompiledTemplate,
    recipients: list[tuple[int, BulkRecipient]],
    connection: Any,
) -> EmailMultiAlternatives:
    """One ESP call for these recipients (addresses unique): anymail batch sending.

    Each recipient sees only their own address; the ESP fills the merge fields. Text
    values go as they are, HTML ones escaped, under ``<name>__html``.
    """
    html_fields = template.html.fields

    def inert(value: str, *, html: bool) -> str:
        # Should the ESP look at a value it filled in, it finds nothing to fill.
        return api.neutralise(value, html=html, after_field=True)

    merge_data: dict[str, dict[str, str]] = {}
    merge_headers: dict[str, dict[str, str]] = {}
    merge_metadata: dict[str, dict[str, str]] = {}
    for delivery_id, recipient in recipients:
        values = recipient.merge_data
        data = {name: values[name] for name in template.text.fields}
        # A field in the subject goes on one line there, and so in the text too.
        data.update({name: _one_line(values[name]) for name in template.subject.fields})
        data = {name: inert(value, html=False) for name, value in data.items()}
        data.update(
            {name + HTML_SUFFIX: inert(escape(values[name]), html=True) for name in html_fields}
        )
        merge_data[recipient.address] = data
        merge_headers[recipient.address] = recipient.headers
        merge_metadata[recipient.address] = {"delivery": str(delivery_id)}
    email = EmailMultiAlternatives(
        subject=_esp_template(template.subject, api, html=False),
        body=_esp_template(template.text, api, html=False),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.address for _, recipient in recipients],
        headers=dict(BULK_HEADERS),
        connection=connection,
    )
    email.attach_alternative(_esp_template(template.html, api, html=True), "text/html")
    _untracked(email)
    email.merge_data = merge_data  # type: ignore[attr-defined]  # anymail's attributes
    email.merge_headers = merge_headers  # type: ignore[attr-defined]
    email.merge_metadata = merge_metadata  # type: ignore[attr-defined]
    return email
