"""Workspace URLs: accounts. Included by workspace/urls.py.

Everything here is under ``account/``, a first segment no organisation may take
(``campaigns.models.RESERVED_ORGANISATION_SLUGS``). The reset link's token is the one
segment after ``reset/``, which the log filter hides (``common.logging``).
"""

from django.urls import URLPattern, path

from workspace.views.accounts import account, password_reset, sign_in, two_factor

urlpatterns: list[URLPattern] = [
    path("account/", account.account, name="account"),
    path("account/login/", sign_in.login, name="login"),
    path("account/logout/", sign_in.logout, name="logout"),
    path("account/two-factor/", sign_in.two_factor_verify, name="two-factor"),
    path("account/two-factor/setup/", two_factor.two_factor_setup, name="two-factor-setup"),
    path(
        "account/two-factor/recovery-codes/",
        two_factor.recovery_codes,
        name="two-factor-recovery-codes",
    ),
    path("account/two-factor/remove/", two_factor.two_factor_remove, name="two-factor-remove"),
    path("account/password/", account.password_change, name="password-change"),
    path("account/password-reset/", password_reset.password_reset, name="password-reset"),
    path(
        "account/password-reset/sent/",
        password_reset.password_reset_sent,
        name="password-reset-sent",
    ),
    path(
        "account/reset/<str:token>/",
        password_reset.password_reset_confirm,
        name="password-reset-confirm",
    ),
]
