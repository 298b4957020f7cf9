"""A development email backend: one readable ``.eml`` file per message under ``var/outbox``.

It also prints the message's links to the console, so the person running ``make run`` can
click the confirmation link straight from the terminal.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from celery.utils.log import LoggingProxy
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

_LINK = re.compile(r"https?://\S+")
# What ends a sentence or wraps a link in text (Markdown's "[text](url)", "<url>", "url.")
# rather than the link itself.
_TRAILING = ").,;:!?>]'\"»"


class LocalOutboxBackend(BaseEmailBackend):
    def __init__(self, *, outbox_dir: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outbox_dir = Path(outbox_dir or settings.OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            path = self.outbox_dir / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.message().as_bytes())
            links = [link.rstrip(_TRAILING) for link in _LINK.findall(str(message.body))]
            console = _console()
            print(f"[outbox] {message.subject!s} -> {path}", file=console)
            for link in links:
                print(f"[outbox]   link: {link}", file=console)
            console.flush()
        return len(email_messages)


def _console() -> Any:
    """The terminal. In a Celery worker ``sys.stdout`` is a logger, whose records have their
    tokens scrubbed (common.logging); these lines are for the person at the terminal, who
    needs the links whole, so they go to the process's own standard output instead."""
    if isinstance(sys.stdout, LoggingProxy) and sys.__stdout__ is not None:
        return sys.__stdout__
    return sys.stdout
