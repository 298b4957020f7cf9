"""Who a person is, for look-ups: email normalisation and keyed hashes of addresses and
domains.

The ground of the app layers: petitions (supporters), trust (block rules, rate limits) and
any later feature app hash addresses the same way, so one person is one digest everywhere.
The digests are stored and searched on: changing the normalisation or the key breaks
de-duplication and every look-up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

import idna
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from trust.domains import domain_registrable

# Providers where dots in the local part are ignored and "+tag" is an alias of the same box.
_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
# Providers that deliver "name+tag@" to "name@" (sub-addressing); dots still matter there.
_PLUS_TAG_DOMAINS = _GMAIL_DOMAINS | {
    "outlook.com", "hotmail.com", "live.com", "proton.me", "protonmail.com", "pm.me",
    "fastmail.com", "icloud.com", "me.com", "yandex.ru", "ya.ru", "yandex.com",
}  # fmt: skip


class EmailAddressInvalidError(ValueError):
    """An address whose domain or local part has no single form mail would be sent to.

    ``reason`` is ``"domain"`` (not a valid IDNA 2008 domain name) or ``"local"`` (a
    non-ASCII part before the @).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid email address ({reason})")
        self.reason = reason


_QUOTED_LOCAL = re.compile(r'["\\\s]')


def email_domain_canonical(domain: str) -> str:
    """The domain in the one ASCII form we store, hash and send to.

    IDNA 2008 with UTS #46 non-transitional processing, as browsers and anymail's
    encoders use: ``freerußia.org`` is ``xn--freeruia-vya.org``, a different domain from
    ``freerussia.org`` (IDNA 2003, Python's ``"idna"`` codec, maps ß to ss and would give
    a look-alike domain the digest of the real one). Raises ``EmailAddressInvalidError``.
    """
    try:
        ascii_domain = idna.encode(
            domain.strip().rstrip("."), uts46=True, transitional=False
        ).decode()
    except (idna.IDNAError, UnicodeError) as exc:
        raise EmailAddressInvalidError("domain") from exc
    # UTS #46 maps full-width and ideographic dots (U+3002, U+FF0E, U+FF61) to ".": a trailing one
    # only appears now; mail backends refuse "example.org." and the mail would never go.
    ascii_domain = ascii_domain.rstrip(".")
    if not ascii_domain or "" in ascii_domain.split("."):
        raise EmailAddressInvalidError("domain")
    return ascii_domain


def email_canonical(email: str) -> str:
    """The address as we store and mail it: local part as typed, domain canonical.

    A non-ASCII local part is refused (``EmailAddressInvalidError("local")``): Django's
    SMTP backend would send it as an RFC 2047 encoded word and an ESP as raw UTF-8, so
    which mailbox gets the mail would depend on the backend, not on what we hashed.
    """
    local, _, domain = email.strip().rpartition("@")
    if not local or not local.isascii() or _QUOTED_LOCAL.search(local):
        # Quoted local parts ("victim"@example.org) reach the same mailbox as the bare one
        # but would hash differently: one mailbox, two signatures, and block rules missed.
        raise EmailAddressInvalidError("local")
    canonical = f"{local}@{email_domain_canonical(domain)}"
    try:
        validate_email(canonical)
    except ValidationError as exc:
        raise EmailAddressInvalidError("domain") from exc
    return canonical


def email_normalise(email: str) -> str:
    """The address reduced to what identifies a mailbox, for de-duplication only.

    The domain is the canonical one mail is sent to (``email_domain_canonical``), so the
    digest is computed over exactly the domain that receives the mail. This form is never
    shown or mailed.
    """
    local, _, domain = email.strip().rpartition("@")
    try:
        domain = email_domain_canonical(domain)
    except EmailAddressInvalidError:
        # Not an address the forms accept (staff search, old rows): its lower-cased
        # domain is never the canonical form of a valid one, so it matches no real mailbox.
        domain = domain.lower().rstrip(".")
    local = unicodedata.normalize("NFC", local).lower()
    if domain in _PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in _GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def email_digest(email: str) -> str:
    """HMAC-SHA256 of the normalised address under the look-up key."""
    key = settings.SBOR_LOOKUP_KEY.encode()
    return hmac.new(key, email_normalise(email).encode(), hashlib.sha256).hexdigest()


def email_domain(email: str) -> str:
    """The normalised domain of an address (IDNA, lower case, googlemail → gmail)."""
    return email_normalise(email).rpartition("@")[2]


def _domain_of(email_or_domain: str) -> str:
    return email_domain(email_or_domain if "@" in email_or_domain else f"x@{email_or_domain}")


def _domain_digest(domain: str) -> str:
    key = settings.SBOR_LOOKUP_KEY.encode()
    return hmac.new(key, f"domain:{domain}".encode(), hashlib.sha256).hexdigest()


def email_domain_digest(email_or_domain: str) -> str:
    """HMAC-SHA256 of the address's domain (or of a bare domain) under the look-up key.

    Staff can find every signature from a domain by typing it, without the database
    holding a list of domains that could single out a small organisation's members.
    """
    return _domain_digest(_domain_of(email_or_domain))


def email_registrable_digest(email_or_domain: str) -> str:
    """The same keyed hash, of the address's registrable domain (``mail.example.org`` →
    ``example.org``).

    Equal to ``email_domain_digest`` of the registrable domain itself, so one digest typed
    by staff (``domain:example.org``) finds the domain and every subdomain of it.
    """
    return _domain_digest(domain_registrable(domain=_domain_of(email_or_domain)))
