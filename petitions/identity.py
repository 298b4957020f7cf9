"""Who a signer is: email normalisation, keyed look-up hashes and confirmation codes."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import unicodedata

from django.conf import settings
from django.core import signing

from trust.domains import domain_registrable

# Providers where dots in the local part are ignored and "+tag" is an alias of the same box.
_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
# Providers that deliver "name+tag@" to "name@" (sub-addressing); dots still matter there.
_PLUS_TAG_DOMAINS = _GMAIL_DOMAINS | {
    "outlook.com", "hotmail.com", "live.com", "proton.me", "protonmail.com", "pm.me",
    "fastmail.com", "icloud.com", "me.com", "yandex.ru", "ya.ru", "yandex.com",
}  # fmt: skip

CONFIRM_SALT = "sbor.petitions.confirm"
MANAGE_SALT = "sbor.petitions.manage"
# A manage link opens everything stored about a person: it lives one day, not two weeks.
MANAGE_TOKEN_MAX_AGE_SECONDS = 24 * 60 * 60
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read and type
_CODE_LENGTH = 8


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


def confirm_code_new() -> str:
    """A fresh random confirmation code (about 39 bits), unrelated to any key or id.

    Random rather than derived from ``SECRET_KEY``: a code mailed before a key rotation
    keeps working, and two attempts can share a code only by chance, which the unique
    constraint on ``SignAttempt`` turns into a redraw.
    """
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))


def confirm_code_display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def confirm_code_clean(typed: str) -> str:
    """What a person typed, reduced to the code alphabet (spaces, dashes and case ignored)."""
    # Hyphen, en dash and em dash: phones and mail apps swap one for another.
    return re.sub("[\\s\\-\u2013\u2014]", "", typed).upper()


def confirm_code_digest(code: str) -> str:
    """HMAC-SHA256 of a code under the look-up key: a copy of the database alone cannot
    be searched for codes (39 bits would not resist an offline search of a plain hash)."""
    key = settings.SBOR_LOOKUP_KEY.encode()
    return hmac.new(key, f"confirm-code:{code}".encode(), hashlib.sha256).hexdigest()


def confirm_token_make(public_id: str) -> str:
    return signing.dumps(public_id, salt=CONFIRM_SALT)


def _token_read(token: str, *, salt: str, max_age_seconds: int) -> str:
    """The id in a token signed for ``salt``'s purpose.

    Raises ``signing.SignatureExpired`` for an old token and ``signing.BadSignature`` for a
    forged or damaged one, or one made for another purpose.
    """
    value = signing.loads(token, salt=salt, max_age=max_age_seconds)
    if not isinstance(value, str):
        raise signing.BadSignature("unexpected payload")
    return value


def confirm_token_read(token: str, *, max_age_seconds: int) -> str:
    """The sign attempt id in a confirmation token (errors as ``_token_read``)."""
    return _token_read(token, salt=CONFIRM_SALT, max_age_seconds=max_age_seconds)


def manage_token_make(public_id: str) -> str:
    """A "manage my signature" token for a supporter (its own salt: never a confirm link)."""
    return signing.dumps(public_id, salt=MANAGE_SALT)


def manage_token_read(token: str, *, max_age_seconds: int) -> str:
    """The supporter id in a manage token (errors as ``_token_read``)."""
    return _token_read(token, salt=MANAGE_SALT, max_age_seconds=max_age_seconds)
