"""Who a person is, for look-ups: email normalisation and keyed hashes of addresses and
domains.

The ground of the app layers: petitions (supporters), trust (block rules, rate limits) and
any later feature app hash addresses the same way, so one person is one digest everywhere.
The digests are stored and searched on: changing the normalisation or the key breaks
de-duplication and every look-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import unicodedata

from django.conf import settings

from trust.domains import domain_registrable

# Providers where dots in the local part are ignored and "+tag" is an alias of the same box.
_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
# Providers that deliver "name+tag@" to "name@" (sub-addressing); dots still matter there.
_PLUS_TAG_DOMAINS = _GMAIL_DOMAINS | {
    "outlook.com", "hotmail.com", "live.com", "proton.me", "protonmail.com", "pm.me",
    "fastmail.com", "icloud.com", "me.com", "yandex.ru", "ya.ru", "yandex.com",
}  # fmt: skip


def email_normalise(email: str) -> str:
    """The address reduced to what identifies a mailbox, for de-duplication only.

    Mail is always sent to the address as typed; this form is never shown or mailed.
    """
    local, _, domain = email.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    # An address the form accepted but IDNA cannot encode keeps its lower-cased domain.
    with contextlib.suppress(UnicodeError):
        domain = domain.encode("idna").decode("ascii")
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
