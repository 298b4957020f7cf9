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

from collections.abc import Callable
from dataclasses import dataclass
from email.utils import make_msgid
from functools import cache
from typing import Any

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


@dataclass(frozen=True)
class BatchApi:
    """How one ESP family takes a batch: its merge field syntax and its size limit."""

    name: str
    field: Callable[[str], str]
    max_recipients: int


def _test_field(name: str) -> str:
    return "{{" + name + "}}"


def _mailgun_field(name: str) -> str:
    return f"%recipient.{name}%"


# Backend class path → its batch API. A subclass of a listed backend counts as listed.
BATCH_APIS: dict[str, BatchApi] = {
    "anymail.backends.test.EmailBackend": BatchApi("test", _test_field, 1000),
    "anymail.backends.mailgun.EmailBackend": BatchApi("mailgun", _mailgun_field, 1000),
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


def _esp_template(compiled: _Compiled, api: BatchApi, *, suffix: str = "") -> str:
    parts = compiled.parts
    out = [parts[0]]
    for index in range(1, len(parts), 2):
        out.append(api.field(parts[index] + suffix))
        out.append(parts[index + 1])
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
    merge_data: dict[str, dict[str, str]] = {}
    merge_headers: dict[str, dict[str, str]] = {}
    merge_metadata: dict[str, dict[str, str]] = {}
    for delivery_id, recipient in recipients:
        values = recipient.merge_data
        data = {name: values[name] for name in template.text.fields}
        # A field in the subject goes on one line there, and so in the text too.
        data.update({name: _one_line(values[name]) for name in template.subject.fields})
        data.update({name + HTML_SUFFIX: escape(values[name]) for name in html_fields})
        merge_data[recipient.address] = data
        merge_headers[recipient.address] = recipient.headers
        merge_metadata[recipient.address] = {"delivery": str(delivery_id)}
    email = EmailMultiAlternatives(
        subject=_esp_template(template.subject, api),
        body=_esp_template(template.text, api),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.address for _, recipient in recipients],
        headers=dict(BULK_HEADERS),
        connection=connection,
    )
    email.attach_alternative(_esp_template(template.html, api, suffix=HTML_SUFFIX), "text/html")
    _untracked(email)
    email.merge_data = merge_data  # type: ignore[attr-defined]  # anymail's attributes
    email.merge_headers = merge_headers  # type: ignore[attr-defined]
    email.merge_metadata = merge_metadata  # type: ignore[attr-defined]
    return email
