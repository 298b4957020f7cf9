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

    def link(key: str) -> str:
        return q(tagged_url(url=url, source=key))

    return [
        ShareLink("telegram", "Telegram", f"https://t.me/share/url?url={link('telegram')}&text={q(text)}"),
        ShareLink("vk", _("VK"), f"https://vk.com/share.php?url={link('vk')}&title={q(text)}"),
        ShareLink("whatsapp", "WhatsApp", f"https://wa.me/?text={q(text + ' ' + tagged_url(url=url, source='whatsapp'))}"),
        ShareLink("x", "X", f"https://x.com/intent/post?url={link('x')}&text={q(text)}"),
        ShareLink("facebook", "Facebook", f"https://www.facebook.com/sharer/sharer.php?u={link('facebook')}"),
        ShareLink("email", _("Email"), f"mailto:?subject={q(text)}&body={q(text + chr(10) + tagged_url(url=url, source='email'))}"),
    ]  # fmt: skip
