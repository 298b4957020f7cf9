"""Mail providers that get special treatment, as plain data.

No Django import here: ``config.settings`` reads these lists for its defaults before any
app is loaded, and ``trust.blocklist`` reads them at run time, so there is one list.
"""

from __future__ import annotations

# Mail providers that exist to protect their users' privacy. People signing for political
# prisoners have good reason to use them, so they are never treated as disposable, whatever
# a future version of the maintained list says (and a subdomain of one is theirs too), and
# they are exempt from the per-domain rate limit by default: one script must not be able
# to use up the limit that all of their users share.
PRIVACY_PROVIDERS = frozenset(
    {
        # Proton (Mail, and Pass aliases)
        "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "passmail.net",
        "passinbox.com",
        # Tuta
        "tuta.io", "tutanota.com", "tutanota.de", "tutamail.com", "tuta.com", "keemail.me",
        # Collectives and small providers
        "riseup.net", "disroot.org", "posteo.de", "posteo.net", "mailbox.org", "systemli.org",
        "autistici.org", "inventati.org", "cock.li", "onionmail.org",
        # Alias services: one real person behind each alias
        "duck.com", "simplelogin.com", "simplelogin.co", "simplelogin.fr", "slmail.me",
        "aleeas.com", "anonaddy.me", "anonaddy.com", "addy.io", "mozmail.com",
        "relay.firefox.com",
        # Paid private mail
        "startmail.com", "countermail.com", "ctemplar.com", "mailfence.com",
    }
)  # fmt: skip

# Large public providers: many unrelated people share each, so a per-domain limit would
# only stop genuine signers there. Exempt from it by default, like the privacy providers.
LARGE_PROVIDERS = frozenset(
    {
        "gmail.com", "yandex.ru", "mail.ru", "outlook.com", "hotmail.com", "yahoo.com",
        "icloud.com", "bk.ru", "list.ru", "inbox.ru", "rambler.ru", "ya.ru", "gmx.de",
        "web.de", "live.com",
    }
)  # fmt: skip

# The default for ``SBOR_RATE_DOMAIN_EXEMPT``, sorted so that it reads the same every time.
RATE_DOMAIN_EXEMPT_DEFAULT = sorted(LARGE_PROVIDERS | PRIVACY_PROVIDERS)
