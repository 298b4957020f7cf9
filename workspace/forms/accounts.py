"""Forms for signing in, the second factor, and passwords.

The forms that check a password or a code call the services themselves in ``clean`` (with
the account and the client's address the view gives them), so that a refusal is shown on
the field it concerns, with the input kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from workspace.services import accounts, two_factor

SIGN_IN_INVALID = _("The email address or the password is not right. Check both and try again.")
SIGN_IN_THROTTLED = _(
    "Too many sign-in attempts for this account or from your connection. "
    "Please wait an hour and try again."
)
_CODE_ERRORS = {
    "invalid": _("This code is not right, or it was used already. Check your app and try again."),
    "wait": _("Too many wrong codes. Wait a minute, then try again with a new code."),
    "throttled": _(
        "Too many codes were tried for this account or from your connection. "
        "Please wait an hour and try again."
    ),
}
_RECOVERY_ERRORS = {
    **_CODE_ERRORS,
    "invalid": _("This recovery code is not right, or it was used already."),
}
_PASSWORD_WRONG = _("This is not your current password.")


def _code_widget(**attrs: str) -> forms.TextInput:
    return forms.TextInput(
        attrs={"autocapitalize": "none", "autocorrect": "off", "spellcheck": "false", **attrs}
    )


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, ip: str, known_browser: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ip = ip
        self.known_browser = known_browser
        self.user: User | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        email, password = cleaned.get("email"), cleaned.get("password")
        if not email or not password:
            return cleaned
        try:
            self.user = accounts.account_authenticate(
                email=email, password=password, ip=self.ip, known_browser=self.known_browser
            )
        except accounts.SignInRefusedError as refusal:
            self._tie_fields_to_errors()
            if refusal.reason == "throttled":
                raise ValidationError(SIGN_IN_THROTTLED, code="throttled") from None
            raise ValidationError(SIGN_IN_INVALID, code="invalid_login") from None
        return cleaned

    def _tie_fields_to_errors(self) -> None:
        # The refusal is about both fields together (saying which was wrong would tell
        # whether the account exists): both point to the error summary and are invalid.
        for field in self.fields.values():
            field.widget.attrs.update({"aria-describedby": "login-errors", "aria-invalid": "true"})


class _SecondFactorForm(forms.Form):
    """A form whose field is checked against one of the account's second factors."""

    field_name = "code"
    errors_by_reason = _CODE_ERRORS

    def __init__(self, *args: Any, user: User, ip: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.ip = ip
        self.device: Any = None

    # Each form says how its code is checked: returns the device that accepted it, or raises
    # two_factor.SecondFactorRefusedError.
    verify: Callable[[str], Any]

    def _clean_code(self) -> str:
        code: str = self.cleaned_data[self.field_name]
        try:
            self.device = self.verify(code)
        except two_factor.SecondFactorRefusedError as refusal:
            raise ValidationError(
                self.errors_by_reason[refusal.reason], code=refusal.reason
            ) from None
        return code


class TotpCodeForm(_SecondFactorForm):
    """The six-digit code an authenticator app shows now."""

    code = forms.CharField(
        label=_("Code from your authenticator app"),
        help_text=_("Six digits. A new code appears every 30 seconds."),
        max_length=16,
        widget=_code_widget(
            autocomplete="one-time-code", inputmode="numeric", autofocus="autofocus"
        ),
    )

    def clean_code(self) -> str:
        return self._clean_code()

    def verify(self, code: str) -> Any:
        return two_factor.totp_verify(user=self.user, code=code, ip=self.ip)


class RecoveryCodeForm(_SecondFactorForm):
    """One of the account's recovery codes, used up by signing in with it."""

    field_name = "recovery_code"
    errors_by_reason = _RECOVERY_ERRORS

    recovery_code = forms.CharField(
        label=_("Recovery code"),
        help_text=_("Eight letters and digits, from the list you saved. Each code works once."),
        max_length=32,
        widget=_code_widget(autocomplete="off"),
    )

    def clean_recovery_code(self) -> str:
        return self._clean_code()

    def verify(self, code: str) -> Any:
        return two_factor.recovery_code_use(user=self.user, code=code, ip=self.ip)


class TwoFactorSetupForm(_SecondFactorForm):
    """The current password (the session re-authenticates) and the first code from the
    app this session is setting up, which confirms it."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        help_text=_("Six digits, shown by the app once it has the key."),
        max_length=16,
        widget=_code_widget(autocomplete="one-time-code", inputmode="numeric"),
    )

    def __init__(self, *args: Any, device_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device_id = device_id
        self.recovery_codes: list[str] = []

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not accounts.account_check_password(user=self.user, password=password, ip=self.ip):
            raise ValidationError(_PASSWORD_WRONG, code="password_incorrect")
        return password

    def clean_code(self) -> str:
        if "password" not in self.cleaned_data:
            return str(self.cleaned_data["code"])  # no code is spent on a wrong password
        return self._clean_code()

    def verify(self, code: str) -> Any:
        device, self.recovery_codes = two_factor.totp_device_confirm(
            user=self.user, device_id=self.device_id, code=code, ip=self.ip
        )
        return device


class TwoFactorRemoveForm(_SecondFactorForm):
    """The password and a current code (from the app, or a recovery code)."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=32,
        widget=_code_widget(autocomplete="one-time-code"),
    )

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not accounts.account_check_password(user=self.user, password=password, ip=self.ip):
            raise ValidationError(_PASSWORD_WRONG, code="password_incorrect")
        return password

    def clean_code(self) -> str:
        if "password" not in self.cleaned_data:
            return str(self.cleaned_data["code"])  # no code is spent on a wrong password
        return self._clean_code()

    def verify(self, code: str) -> Any:
        if two_factor.code_normalise(code).isdigit():
            return two_factor.totp_verify(user=self.user, code=code, ip=self.ip)
        return two_factor.recovery_code_use(user=self.user, code=code, ip=self.ip)


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form; the current password is counted like a sign-in attempt
    (``accounts.account_check_password``), so that a borrowed session cannot guess it."""

    def __init__(self, user: User, *args: Any, ip: str, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.ip = ip

    def clean_old_password(self) -> str:
        old_password: str = self.cleaned_data["old_password"]
        if not accounts.account_check_password(user=self.user, password=old_password, ip=self.ip):
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password
