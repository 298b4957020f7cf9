"""The sign form and the confirmation-code form."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from petitions.consent import UPDATES_WORDING
from petitions.models import Signature
from petitions.services.confirming import SignerReview
from petitions.services.signing import SignatureSource
from trust.identity import EmailAddressInvalidError, email_canonical

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

# utm/ref values are free text in links anyone can craft; keep a short, plain form.
_SOURCE_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


def _has_control_characters(value: str) -> bool:
    # Cc covers NUL, escapes and other C0/C1 controls. Format characters (Cf) stay allowed:
    # emoji sequences need the zero-width joiner and right-to-left names need direction marks.
    return any(unicodedata.category(char) in {"Cc", "Cs", "Co"} for char in value)


@functools.lru_cache(maxsize=len(settings.LANGUAGES))
def _country_choices(language: str) -> tuple[tuple[str, str], ...]:
    # Translating and collating ~250 names costs about a millisecond: once per language.
    return (("", "—"), *((str(code), str(name)) for code, name in countries))


def country_choices() -> tuple[tuple[str, str], ...]:
    return _country_choices(translation.get_language() or settings.LANGUAGE_CODE)


def source_clean(value: str | None) -> str:
    return _SOURCE_CHARS.sub("", value or "")[:64]


class SourceField(forms.CharField):
    """A hidden tracking value: whatever arrives is reduced to a short plain tag.

    It never fails validation, because a person could neither see nor fix the error.
    """

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.validators = []  # drop the NUL-character check: the value is cleaned instead

    def clean(self, value: Any) -> str:
        return source_clean(value if isinstance(value, str) else "")


class HoneypotField(forms.CharField):
    """A field people never see and scripts fill in: any text in it marks the submission.

    It never fails validation, so a script learns nothing from the answer.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.validators = []

    def clean(self, value: Any) -> str:
        return value.strip() if isinstance(value, str) else ""


class SignerEmailField(forms.EmailField):
    """An address in the one form we store, hash and send to (``email_canonical``).

    Canonicalising here, before anything is stored, means the digest, the stored address
    and the domain the mail backend receives are the same ASCII domain: no backend can
    re-map ``ß`` or ``ς`` to another domain someone else may own.
    """

    def clean(self, value: Any) -> str:
        email: str = super().clean(value)
        if not email:
            return email
        if _has_control_characters(email):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return email_canonical(email)
        except EmailAddressInvalidError as exc:
            code = f"idna_{exc.reason}"
            raise forms.ValidationError(self.error_messages[code], code=code) from exc


def signer_email_field(*, help_text: StrOrPromise) -> forms.EmailField:
    """The email field every signer-facing form uses: one label, one set of messages."""
    return SignerEmailField(
        label=_("Your email"),
        max_length=254,
        help_text=help_text,
        error_messages={
            "required": _("Please enter your email address."),
            "invalid": _("Enter an email address like name@example.org."),
            "idna_domain": _(
                "The part after @ is not a valid domain name. Check it for typos, or use "
                "another address."
            ),
            "idna_local": _(
                "The part before @ may only use Latin letters, digits and . _ + -. Please "
                "use another address."
            ),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )


class SignForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        error_messages={"required": _("Please enter your name.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = signer_email_field(
        help_text=_("We send a link to confirm your signature. It is never shown publicly.")
    )
    country = forms.ChoiceField(
        label=_("Country (optional)"),
        required=False,
        error_messages={"invalid_choice": _("Choose a country from the list.")},
        widget=forms.Select(attrs={"autocomplete": "country"}),
    )
    display = forms.ChoiceField(
        label=_("Show my name on the petition"),
        choices=Signature.Display.choices,
        initial=Signature.Display.HIDDEN,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how your name may be shown.")},
    )
    consent_updates = forms.BooleanField(label=UPDATES_WORDING, required=False)
    # Filled from the page's query string so each signature records where it came from.
    utm_source = SourceField()
    utm_medium = SourceField()
    utm_campaign = SourceField()
    # The honeypot. Hidden with CSS (not type=hidden, which scripts know to skip), out of the
    # tab order and the accessibility tree; its label speaks to anyone who still meets it.
    website = HoneypotField(
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = country_choices()

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if _has_control_characters(name):
            raise forms.ValidationError(
                _("Your name contains characters that cannot be shown. Please retype it.")
            )
        # A name of only invisible characters (joiners, direction marks) would show blank.
        if not any(unicodedata.category(char)[0] in "LNS" for char in name):
            raise forms.ValidationError(_("Please enter your name."))
        return name

    def signature_fields(self) -> dict[str, Any]:
        """The cleaned values as ``sign_attempt_create`` keyword arguments (after is_valid()).

        The form and the API both sign through this, so they cannot drift apart. A filled
        honeypot becomes ``automated="honeypot"``: answered as usual, only tallied.
        """
        data = self.cleaned_data
        return {
            "email": data["email"],
            "name": data["name"],
            "country": data["country"],
            "display": data["display"],
            "consent_updates": data["consent_updates"],
            "source": SignatureSource(
                source=data["utm_source"], medium=data["utm_medium"], campaign=data["utm_campaign"]
            ),
            "automated": "honeypot" if data["website"] else "",
        }


class ConfirmCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Confirmation code"),
        max_length=20,
        help_text=_("The eight-character code from the email, for example ABCD-EF23."),
        error_messages={
            "required": _("Please enter the code from the email."),
            "max_length": _("The code has eight characters, for example ABCD-EF23."),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}
        ),
    )


class ConfirmReviewForm(forms.Form):
    """What confirming will publish and record, reviewed by whoever holds the mailbox.

    The attempt behind a link may have been typed by someone else with this address, so
    confirming takes these values, validated by the sign form's own fields and rules, and
    the consent is given here. Prefilled from the attempt.
    """

    name = SignForm.base_fields["name"]
    country = SignForm.base_fields["country"]
    display = SignForm.base_fields["display"]
    consent_updates = SignForm.base_fields["consent_updates"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = country_choices()

    clean_name = SignForm.clean_name

    def review(self) -> SignerReview:
        """The cleaned values for ``signature_confirm`` (after is_valid())."""
        data = self.cleaned_data
        return SignerReview(
            name=data["name"],
            country=data["country"],
            display=data["display"],
            consent_updates=data["consent_updates"],
        )
