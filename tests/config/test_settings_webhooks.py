"""The webhook settings in a fresh process: the ESPs, the secrets, and production's rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.config.processes import manage, production_env, python, subprocess_env

_PRINT = """
import json
import django
from django.conf import settings
django.setup()
print(json.dumps({"esps": settings.MAILER_WEBHOOK_ESPS, "anymail": settings.ANYMAIL}))
"""
SECRET = "postmark:a-long-webhook-password"
NEXT = "postmark:the-next-webhook-password"


def webhook_settings(env: dict[str, str]) -> dict[str, Any]:
    result = python(env, _PRINT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def anymail_env(tmp_path, **overrides: str | None) -> dict[str, str]:
    chosen: dict[str, str | None] = {"SBOR_MAIL_BACKEND": "anymail", "SBOR_ANYMAIL_ESP": "postmark"}
    return production_env(tmp_path, **(chosen | overrides))


def test_production_with_an_esp_does_not_start_without_a_webhook_secret(tmp_path):
    result = manage(anymail_env(tmp_path), "check")

    assert result.returncode != 0
    assert "SBOR_WEBHOOK_SECRETS must be set" in result.stderr


def test_the_configured_esp_gets_its_webhook_and_two_secrets_during_a_rotation(tmp_path):
    values = webhook_settings(anymail_env(tmp_path, SBOR_WEBHOOK_SECRETS=f"{SECRET}, {NEXT}"))

    assert values["esps"] == ["postmark"]
    assert values["anymail"]["WEBHOOK_SECRET"] == [SECRET, NEXT]


def test_the_secrets_can_come_from_a_file(tmp_path):
    path = tmp_path / "webhook-secrets"
    path.write_text(f"{SECRET},{NEXT}\n", encoding="utf-8")
    token = tmp_path / "token"
    token.write_text("server-token\n", encoding="utf-8")
    env = anymail_env(
        tmp_path, SBOR_WEBHOOK_SECRETS_FILE=str(path), ANYMAIL_POSTMARK_SERVER_TOKEN_FILE=str(token)
    )

    values = webhook_settings(env)

    assert values["anymail"] == {
        "POSTMARK_SERVER_TOKEN": "server-token",
        "WEBHOOK_SECRET": [SECRET, NEXT],
    }


def test_while_switching_esps_both_have_webhooks(tmp_path):
    env = anymail_env(
        tmp_path, SBOR_ANYMAIL_ESP="mailgun", SBOR_WEBHOOK_ESPS="postmark,mailgun",
        SBOR_WEBHOOK_SECRETS=SECRET,
    )  # fmt: skip

    assert webhook_settings(env)["esps"] == ["postmark", "mailgun"]


def test_smtp_through_an_esps_relay_can_still_have_its_webhooks(tmp_path):
    env = production_env(tmp_path, SBOR_WEBHOOK_ESPS="postmark", SBOR_WEBHOOK_SECRETS=SECRET)

    assert webhook_settings(env)["esps"] == ["postmark"]


def test_without_an_esp_there_is_no_webhook_and_no_secret_is_needed(tmp_path):
    values = webhook_settings(production_env(tmp_path))

    assert values["esps"] == []
    assert "WEBHOOK_SECRET" not in values["anymail"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SBOR_WEBHOOK_SECRETS": "no-colon-here"}, "must list user:password pairs"),
        ({"SBOR_WEBHOOK_SECRETS": "user:"}, "must list user:password pairs"),
        ({"SBOR_WEBHOOK_SECRETS": "user:short"}, "a password needs 16 characters"),
        ({"SBOR_WEBHOOK_SECRETS": SECRET, "ANYMAIL_WEBHOOK_SECRET": NEXT}, "not both"),
        ({"SBOR_WEBHOOK_SECRETS": SECRET, "SBOR_WEBHOOK_ESPS": "post mark"}, "not an ESP name"),
    ],
    ids=["no-colon", "no-password", "short-password", "two-ways", "bad-esp"],
)
def test_bad_webhook_settings_stop_start_up(tmp_path, overrides, message):
    result = manage(anymail_env(tmp_path, **overrides), "check")

    assert result.returncode != 0
    assert message in result.stderr


def test_an_esp_anymail_has_no_tracking_webhook_for_fails_the_check(tmp_path):
    env = subprocess_env(tmp_path, SBOR_WEBHOOK_ESPS="pigeon_post")

    result = manage(env, "check")

    assert result.returncode != 0
    assert "mailer.E001" in result.stderr
