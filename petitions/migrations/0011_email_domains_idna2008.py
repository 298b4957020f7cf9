"""Stored addresses get their domain in the IDNA 2008 form, and digests are re-hashed.

Digests used to be computed over the IDNA 2003 form (Python's ``"idna"`` codec), which maps
``ß`` to ``ss``, ``ς`` to ``σ`` and drops joiners: ``anna@freerußia.org`` had the digest of
``anna@freerussia.org``, though mail went to ``xn--freeruia-vya.org``. Where the address is
still stored, the row now holds the canonical address and the digests of exactly that.

Supporters whose address was already dropped keep their old digest: a hash cannot be
re-hashed without the address. For the few domains whose IDNA 2003 and 2008 forms differ
(deviation characters ß, ς, ZWJ, ZWNJ, and symbols IDNA 2008 forbids), such a row can
still be matched by the look-alike ASCII spelling; the manage link then goes to the
address typed, which the digest says is the same mailbox. This is the residue the data
cannot fix; the rows are few and carry no address.

If the new digest is already another supporter's (the same mailbox signed once typed in
punycode and once in Unicode), the Unicode row's digest is set to a value no HMAC can
produce, so it can never be matched by the look-alike spelling again.
"""

from django.db import migrations

_BATCH = 500


def _non_ascii_domain(email: str) -> bool:
    return not email.rpartition("@")[2].isascii()


def supporters_rehash(apps, schema_editor):
    from trust.identity import (
        EmailAddressInvalidError,
        email_canonical,
        email_digest,
        email_domain_digest,
        email_registrable_digest,
    )

    Supporter = apps.get_model("petitions", "Supporter")
    after = 0
    while True:
        # The historical field decrypts on read; encrypted values cannot be filtered on.
        rows = list(
            Supporter.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "email", "email_digest")[:_BATCH]
        )
        for pk, email, old_digest in rows:
            if not email or not _non_ascii_domain(email):
                continue
            try:
                email = email_canonical(email)
            except EmailAddressInvalidError:
                pass  # not mailable as typed either: re-hash what is stored
            digest = email_digest(email)
            if digest == old_digest:
                continue
            if Supporter.objects.filter(email_digest=digest).exclude(pk=pk).exists():
                Supporter.objects.filter(pk=pk).update(email_digest=f"idna2003:{pk}")
                continue
            Supporter.objects.filter(pk=pk).update(
                email=email,
                email_digest=digest,
                email_domain_digest=email_domain_digest(email),
                email_registrable_digest=email_registrable_digest(email),
            )
        if len(rows) < _BATCH:
            break
        after = rows[-1][0]


def sign_attempts_canonicalise(apps, schema_editor):
    from trust.identity import EmailAddressInvalidError, email_canonical

    SignAttempt = apps.get_model("petitions", "SignAttempt")
    rows = SignAttempt.objects.filter(confirmed_at__isnull=True).values_list("pk", "email")
    for pk, email in rows.iterator(chunk_size=_BATCH):
        if email and _non_ascii_domain(email):
            try:
                SignAttempt.objects.filter(pk=pk).update(email=email_canonical(email))
            except EmailAddressInvalidError:
                continue


class Migration(migrations.Migration):
    dependencies = [("petitions", "0010_signature_pending_expiry")]

    operations = [
        migrations.RunPython(supporters_rehash, migrations.RunPython.noop),
        migrations.RunPython(sign_attempts_canonicalise, migrations.RunPython.noop),
    ]
