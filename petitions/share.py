"""Share links for the thank-you pages. Each link carries a source tag (utm_source)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class ShareLink:
    key: str
    label: str
    href: str


def tagged_url(*, url: str, source: str) -> str:
    return f"{url}?{urlencode({'utm_source': source, 'utm_medium': 'share'})}"


def share_links(*, url: str, text: str) -> list[ShareLink]:
    """Links that open each service's own share dialog; no script of theirs is loaded."""

    def q(value: str) -> str:
        return quote(value, safe="")

    def tagged(key: str) -> str:
        return tagged_url(url=url, source=key)

    def link(key: str) -> str:
        return q(tagged(key))

    telegram = f"https://t.me/share/url?url={link('telegram')}&text={q(text)}"
    vk = f"https://vk.com/share.php?url={link('vk')}&title={q(text)}"
    whatsapp = "https://wa.me/?text=" + q(text + " " + tagged("whatsapp"))
    x = f"https://x.com/intent/post?url={link('x')}&text={q(text)}"
    facebook = f"https://www.facebook.com/sharer/sharer.php?u={link('facebook')}"
    email = f"mailto:?subject={q(text)}&body=" + q(text + "\n" + tagged("email"))
    return [
        ShareLink("telegram", "Telegram", telegram),
        ShareLink("vk", _("VK"), vk),
        ShareLink("whatsapp", "WhatsApp", whatsapp),
        ShareLink("x", "X", x),
        ShareLink("facebook", "Facebook", facebook),
        ShareLink("email", _("Email"), email),
    ]
