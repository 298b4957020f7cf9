"""Registrable domains (eTLD+1), from the Public Suffix List shipped with ``publicsuffixlist``.

``a.example.co.uk`` and ``b.example.co.uk`` belong to one registrant, ``example.co.uk``:
limits and staff searches that work per domain use that, so that a script cannot step
around a limit by inventing subdomains. The list is the one bundled with the installed
package (updated on PyPI as the list changes); nothing is fetched at run time.

Only the ICANN section of the list is used, not the private one (``github.io``,
``duckdns.org``, …): every address under a free-subdomain service then shares that
service's bucket, which is what a limit against one sender with many names needs.
"""

from __future__ import annotations

from functools import cache

from publicsuffixlist import PublicSuffixList


@cache
def _suffix_list() -> PublicSuffixList:
    # Parsing the list takes a few tens of milliseconds: once per process.
    return PublicSuffixList(only_icann=True)


def domain_registrable(*, domain: str) -> str:
    """The registrable part of ``domain`` (lower-case IDNA, as ``email_domain`` gives it).

    ``mail.example.co.uk`` gives ``example.co.uk``; an unknown top level counts as a public
    suffix (``a.b.internal`` gives ``b.internal``). A domain that has no registrable part
    (a public suffix itself such as ``co.uk``, a single label, empty labels) is returned
    unchanged: it is then its own bucket rather than no bucket.
    """
    name = domain.strip().lower().rstrip(".")
    if not name:
        return ""
    return _suffix_list().privatesuffix(name) or name
