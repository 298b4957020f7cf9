"""The exact wording people agree to. Bump the version whenever the wording changes:
each Consent row records the version that was shown."""

from django.utils.translation import gettext_lazy as _

UPDATES_WORDING_VERSION = "2026-11-updates-v1"
UPDATES_WORDING = _("Send me email updates about this campaign. I can unsubscribe at any time.")
