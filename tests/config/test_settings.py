"""None"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_int, env_list, env_required, env_str

NAME = "SBOR_TEST_SETTING"


@pytest.fixture(autouse=True)
def _no_test_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.delenv(f"{NAME}_FILE", raising=False)


# --- Environment helpers ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "true", "True", "YES", "on", " 1 "])
def test_env_bool_reads_true(monkeypatch, value):
    monkeypatch.setenv(NAME, value)
    assert env_bool(NAME) is True


@pytest.mark.parametrize("value", ["0", "false", "FALSE", "no", "off", ""])
def test_env_bool_reads_false(monkeypatch, value):
    monkeypatch.setenv(NAME, value)
    assert env_bool(NAME, True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_falls_back_to_the_default_when_unset(default):
    assert env_bool(NAME, default) is default


@pytest.mark.parametrize("value", ["maybe", "2", "y", "enabled", "tru"])
def test_env_bool_refuses_anything_else(monkeypatch, value):
    monkeypatch.setenv(NAME, value)
    with pytest.raises(ImproperlyConfigured, match=f"{NAME}=.*is not a boolean"):
        env_bool(NAME)


def test_env_int_reads_a_number(monkeypatch):
    monkeypatch.setenv(NAME, "42")
    assert env_int(NAME, 7, minimum=1) == 42


@pytest.mark.parametrize("value", [None, ""])
def test_env_int_falls_back_to_the_default_when_unset_or_empty(monkeypatch, value):
    if value is not None:
        monkeypatch.setenv(NAME, value)
    assert env_int(NAME, 7) == 7


@pytest.mark.parametrize("value", ["abc", "1.5", "10s", "0x10"])
def test_env_int_refuses_what_is_not_an_integer(monkeypatch, value):
    monkeypatch.setenv(NAME, value)
    with pytest.raises(ImproperlyConfigured, match="is not an integer"):
        env_int(NAME, 7)


@pytest.mark.parametrize("value", ["0", "-5"])
def test_env_int_refuses_a_number_below_the_minimum(monkeypatch, value):
    monkeypatch.setenv(NAME, value)
    with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
        env_int(NAME, 7, minimum=1)


def test_env_int_accepts_the_minimum_itself(monkeypatch):
    monkeypatch.setenv(NAME, "1")
    assert env_int(NAME, 7, minimum=1) == 1


def test_env_choice_reads_a_known_value(monkeypatch):
    monkeypatch.setenv(NAME, "smtp")
    assert env_choice(NAME, ("outbox", "smtp"), "outbox") == "smtp"


def test_env_choice_falls_back_to_the_default_when_unset():
    assert env_choice(NAME, ("outbox", "smtp"), "outbox") == "outbox"


@pytest.mark.parametrize("value", ["bogus", "SMTP", " smtp"])
def test_env_choice_refuses_an_unknown_value_and_lists_the_choices(monkeypatch, value):
    monkeypatch.setenv(NAME, value)
    with pytest.raises(ImproperlyConfigured, match="must be one of outbox, smtp"):
        env_choice(NAME, ("outbox", "smtp"), "outbox")


def test_env_required_returns_a_set_value(monkeypatch):
    monkeypatch.setenv(NAME, "value")
    assert env_required(NAME) == "value"


@pytest.mark.parametrize("value", [None, ""])
def test_env_required_refuses_a_missing_or_empty_value(monkeypatch, value):
    if value is not None:
        monkeypatch.setenv(NAME, value)
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be set"):
        env_required(NAME)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv(NAME, " example.org, www.example.org ,,")
    assert env_list(NAME) == ["example.org", "www.example.org"]


def test_env_list_falls_back_to_a_copy_of_the_default():
    default = ["localhost"]
    value = env_list(NAME, default)
    assert value == ["localhost"]
    assert value is not default


def test_a_secret_is_read_from_its_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-from-a-file\n", encoding="utf-8")
    monkeypatch.setenv(f"{NAME}_FILE", str(secret))

    assert env_str(NAME) == "s3cret-from-a-file"
    assert env_required(NAME) == "s3cret-from-a-file"


def test_every_helper_reads_files(monkeypatch, tmp_path):
    secret = tmp_path / "value"
    secret.write_text("15\n", encoding="utf-8")
    monkeypatch.setenv(f"{NAME}_FILE", str(secret))

    assert env_int(NAME, 1, minimum=10) == 15
    assert env_list(NAME) == ["15"]
    secret.write_text("yes", encoding="utf-8")
    assert env_bool(NAME) is True


def test_the_variable_itself_wins_over_its_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-file", encoding="utf-8")
    monkeypatch.setenv(f"{NAME}_FILE", str(secret))
    monkeypatch.setenv(NAME, "from-variable")

    assert env_str(NAME) == "from-variable"


def test_an_unreadable_secret_file_stops_start_up(monkeypatch, tmp_path):
    monkeypatch.setenv(f"{NAME}_FILE", str(tmp_path / "missing"))

    with pytest.raises(ImproperlyConfigured, match=f"{NAME}_FILE=.*cannot be read"):
        env_str(NAME)


def test_an_empty_secret_file_counts_as_missing(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("\n", encoding="utf-8")
    monkeypatch.setenv(f"{NAME}_FILE", str(secret))

    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be set"):
        env_required(NAME)


# --- Response headers ---------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_send_the_security_headers(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_health_check_answers_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
