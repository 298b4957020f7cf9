"""The per-petition lock that keeps signing and confirming apart from closing and lockdown.

Signing and confirming take it shared, so they never wait for one another; closing,
retention and lockdown take it exclusive, so they wait for every sign and confirmation
in flight to commit, and those that come after see the petition closed. It is a
PostgreSQL advisory lock rather than a row lock on the petition: the count task updates
the petition row all the time, and a row lock held by every sign would make it wait (or
deadlock with a sign waiting for a signature row the count task holds).
"""

from __future__ import annotations

from django.db import connection

# Sbor's namespace for these locks (the high 32 bits of the key); any fixed number works.
_NAMESPACE = 0x5B0D


def petition_signing_lock(*, petition_id: int, exclusive: bool) -> None:
    """Hold the petition's signing lock until the current transaction ends.

    Call inside ``transaction.atomic()``. On SQLite this does nothing: one writer at a
    time holds the whole database, so a sign and a lockdown never interleave there.
    """
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    key = (_NAMESPACE << 32) | (petition_id & 0xFFFFFFFF)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s::bigint)", [key])
