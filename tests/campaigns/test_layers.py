"""campaigns sits below petitions: nothing under campaigns/ imports petitions.

A petition belongs to a campaign, so petitions builds on campaigns and never the reverse:
the campaign page with its sign forms, the lockdown and the demo live in petitions.
import-linter (``make lint``) is the main guard; this is the early warning in the suite.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.contrib import admin
from django.urls import resolve

import campaigns
from campaigns.admin import CampaignAdmin
from campaigns.models import Campaign
from petitions.admin.campaigns import CampaignLockdownAdmin

CAMPAIGNS_DIR = Path(campaigns.__file__).parent
MODULES = sorted(CAMPAIGNS_DIR.rglob("*.py"))


def imported_names(path: Path) -> list[str]:
    """Every module name ``path`` imports, at any depth (inside functions too)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_every_campaigns_module_is_checked():
    assert CAMPAIGNS_DIR / "admin.py" in MODULES
    assert CAMPAIGNS_DIR / "views.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CAMPAIGNS_DIR)))
def test_a_campaigns_module_does_not_import_petitions(path):
    above = [name for name in imported_names(path) if name.split(".")[0] == "petitions"]
    assert above == [], f"{path.relative_to(CAMPAIGNS_DIR.parent)} imports {above}"


def test_the_campaign_page_keeps_its_address_and_name():
    match = resolve("/c/any-campaign/")

    assert match.url_name == "campaign"
    assert match.func.__module__ == "petitions.campaign_page"


def test_the_admin_shows_campaigns_with_petitions_lockdown_on_top_of_campaigns_own_admin():
    registered = admin.site._registry[Campaign]

    assert isinstance(registered, CampaignLockdownAdmin)
    assert isinstance(registered, CampaignAdmin)
