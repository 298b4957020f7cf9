"""The Content-Security-Policy itself, and what the code does to live within it: templates
without inline code, scripts without eval, an admin that needs no exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import NoReverseMatch, reverse

from tests.factories import admin_login, signature_create
from tests.security.markup import csp_directives, inline_code

BASE_DIR = Path(settings.BASE_DIR)

EXPECTED_POLICY = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "object-src": ["'none'"],
    "manifest-src": ["'self'"],
    "worker-src": ["'self'"],
}


def site_templates() -> list[Path]:
    """Every HTML template of ours that a browser renders (emails are not under the CSP)."""
    folders = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
    return sorted(
        path
        for folder in folders
        if ".venv" not in folder.parts
        for path in folder.rglob("*.html")
        if "emails" not in path.relative_to(folder).parts
    )


def site_scripts() -> list[Path]:
    return sorted((BASE_DIR / "static").rglob("*.js"))


# --- The policy ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_send_exactly_the_strict_policy(client):
    response = client.get("/")

    assert csp_directives(response["Content-Security-Policy"]) == EXPECTED_POLICY


def test_the_policy_names_no_other_host_and_nothing_unsafe():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    sources = [
        source
        for value in directives.values()
        if isinstance(value, list | tuple)
        for source in value
    ]

    assert set(sources) <= {"'self'", "'none'", "data:"}


def test_outside_production_the_policy_does_not_upgrade_requests():
    # Upgrading would break every sub-resource of a plain-HTTP laptop server.
    assert settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["upgrade-insecure-requests"] is False


@pytest.mark.django_db
def test_the_policy_is_enforced_not_only_reported(client):
    response = client.get("/")

    assert "Content-Security-Policy" in response
    assert "Content-Security-Policy-Report-Only" not in response


# --- Templates and scripts -----------------------------------------------------------------


def test_the_template_list_covers_the_site():
    names = {path.name for path in site_templates()}

    assert {"base.html", "_panel.html", "campaign_detail.html", "embed.html"} <= names
    assert not any("emails" in path.parts for path in site_templates())


@pytest.mark.parametrize(
    "template", site_templates(), ids=lambda path: str(path.relative_to(BASE_DIR))
)
def test_no_template_holds_inline_scripts_styles_or_event_handlers(template):
    assert inline_code(template.read_text(encoding="utf-8")) == []


# What a script may not do under the policy: evaluate strings as code (no 'unsafe-eval'),
# or create style attributes (no 'unsafe-inline'; element.style.x = … is allowed).
_FORBIDDEN_IN_SCRIPTS = {
    "eval(": re.compile(r"(?<![\w.])eval\s*\("),
    "new Function": re.compile(r"new\s+Function\s*\("),
    "a string timer": re.compile(r"set(?:Timeout|Interval)\s*\(\s*[\"'`]"),
    "a style attribute": re.compile(r"setAttribute\s*\(\s*[\"']style[\"']|\.cssText\s*="),
    "HTML from strings": re.compile(
        r"\.(?:inner|outer)HTML\s*=|insertAdjacentHTML|document\.write"
    ),
}


@pytest.mark.parametrize("script", site_scripts(), ids=lambda path: path.name)
def test_no_script_does_what_the_policy_forbids(script):
    source = script.read_text(encoding="utf-8")

    found = [name for name, pattern in _FORBIDDEN_IN_SCRIPTS.items() if pattern.search(source)]

    assert found == []


# --- The Django admin ----------------------------------------------------------------------


def admin_paths() -> list[str]:
    """The admin's index, and the list, add and change page of every registered model."""
    paths = ["/admin/", "/admin/password_change/"]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        paths.append(reverse("admin:{}_{}_changelist".format(*info)))
        paths.append(reverse("admin:{}_{}_add".format(*info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            for view in ("change", "delete", "history"):
                try:
                    paths.append(reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[first.pk]))
                except NoReverseMatch:
                    continue
    return paths


@pytest.mark.django_db
def test_the_sign_in_page_the_admin_sends_to_has_the_same_strict_policy_and_no_inline_code(
    client,
):
    response = client.get("/admin/login/", follow=True)

    assert response.redirect_chain[-1][0].startswith("/workspace/account/login/")
    assert response.status_code == 200
    assert csp_directives(response["Content-Security-Policy"]) == EXPECTED_POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert inline_code(response.content.decode()) == []


@pytest.mark.django_db
def test_the_two_factor_setup_page_draws_its_qr_code_without_inline_code(client):
    from tests.factories import organiser_create, workspace_login

    workspace_login(client, organiser_create(), verified=False)
    response = client.get("/workspace/account/two-factor/setup/")

    assert response.status_code == 200
    assert "<svg" in response.content.decode()
    assert csp_directives(response["Content-Security-Policy"]) == EXPECTED_POLICY
    assert inline_code(response.content.decode()) == []


# Organisation.website is a URLField, whose admin form field warns about Django 6's default
# scheme; that warning is not this test's subject.
@pytest.mark.django_db
def test_admin_pages_hold_no_inline_code(client):
    signature_create(confirmed=True)
    admin_login(client, User.objects.create_superuser("root", "root@example.org", "pass phrase"))

    problems = {}
    for path in admin_paths():
        # Followed: a one-row model's list redirects to its only row.
        response = client.get(path, follow=True)
        assert response.status_code in (200, 403), f"{path} answered {response.status_code}"
        assert "unsafe-inline" not in response["Content-Security-Policy"]
        if found := inline_code(response.content.decode()):
            problems[path] = found

    assert problems == {}
