"""Sign attempts and anonymous tallies of flagged attempts.

The data step converts what the old design stored:

* signatures invalidated automatically at signing (rate limit, block rule, disposable
  domain, automated) become tallies per petition, reason, rule and day, and are deleted,
  with the supporters who had nothing else: a flagged attempt keeps nothing about a person;
* each pending signature gets one attempt with its old link id and code (its public id,
  and the code derived from SECRET_KEY as before), so emails already sent keep working;
  an unconfirmed consent becomes that attempt's ticked box.
"""

import hashlib
import hmac
from collections import Counter

from django.conf import settings
from django.db import migrations
from django.utils import timezone

_AUTOMATIC = ("rate_limit", "blocklist", "disposable", "automated")
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def _old_code(public_id):
    # The code as the old design derived it (petitions.identity before sign attempts).
    mac = hmac.new(
        settings.SECRET_KEY.encode(), f"confirm-code:{public_id}".encode(), hashlib.sha256
    ).digest()
    number = int.from_bytes(mac[:8], "big")
    chars = []
    for _ in range(8):
        number, index = divmod(number, len(_CODE_ALPHABET))
        chars.append(_CODE_ALPHABET[index])
    return "".join(chars)


def _digest(code):
    key = settings.SBOR_LOOKUP_KEY.encode()
    return hmac.new(key, f"confirm-code:{code}".encode(), hashlib.sha256).hexdigest()


def legacy_rows_convert(apps, schema_editor):
    Signature = apps.get_model("petitions", "Signature")
    Supporter = apps.get_model("petitions", "Supporter")
    Consent = apps.get_model("petitions", "Consent")
    SignAttempt = apps.get_model("petitions", "SignAttempt")
    Tally = apps.get_model("petitions", "FlaggedAttemptTally")
    flagged = Signature.objects.filter(
        status="invalidated", invalid_reason__in=_AUTOMATIC, invalidation__isnull=True
    )
    tallies = Counter()
    people = set()
    for row in flagged.values(
        "petition_id",
        "invalid_reason",
        "invalid_detail",
        "invalidated_at",
        "created_at",
        "supporter_id",
    ):
        day = (row["invalidated_at"] or row["created_at"]).date()
        tallies[(row["petition_id"], row["invalid_reason"], row["invalid_detail"][:32], day)] += 1
        people.add(row["supporter_id"])
    for (petition_id, reason, detail, day), count in tallies.items():
        Tally.objects.create(
            petition_id=petition_id, reason=reason, detail=detail, day=day, count=count
        )
    flagged.delete()
    Supporter.objects.filter(pk__in=people - {None}, signatures__isnull=True).delete()

    now = timezone.now()
    codes = set()
    pending = Signature.objects.filter(status="pending", supporter__isnull=False).select_related(
        "supporter", "petition"
    )
    for signature in pending.iterator():
        code = _old_code(str(signature.public_id))
        digest = _digest(code)
        if (signature.petition_id, digest) in codes:
            continue  # two old codes alike on one petition: the later one signs again
        codes.add((signature.petition_id, digest))
        unconfirmed = Consent.objects.filter(signature=signature, confirmed_at__isnull=True)
        supporter = signature.supporter
        SignAttempt.objects.create(
            public_id=signature.public_id,
            petition_id=signature.petition_id,
            signature=signature,
            email=supporter.email,
            name=supporter.name,
            country=supporter.country,
            display=signature.display,
            consent_updates=unconfirmed.exists(),
            language=signature.language,
            source=signature.source,
            medium=signature.medium,
            source_campaign=signature.source_campaign,
            ip_hash=signature.ip_hash,
            ip_network_hash=signature.ip_network_hash,
            confirm_code=code,
            confirm_code_digest=digest,
            created_at=signature.confirmation_requested_at,
            processed_at=now,
        )
        unconfirmed.delete()


class Migration(migrations.Migration):
    dependencies = [("petitions", "0007_sign_attempts")]

    operations = [migrations.RunPython(legacy_rows_convert, migrations.RunPython.noop)]
