"""Pages and emails in the visitor's or signer's language: Russian for Russian, else English."""

# Russian text is the point of this file, so Cyrillic letters that look Latin are expected.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core import mail

from tests.factories import petition_create, post_and_run_tasks, signature_create

# --- Pages ------------------------------------------------------------------------------------


def _switcher_offers_russian(html: str) -> bool:
    return 'action="/i18n/setlang/"' in html and 'name="language" value="ru"' in html


@pytest.mark.django_db
def test_campaign_page_is_in_russian_for_a_russian_browser(client):
    petition = petition_create()

    response = client.get(f"/c/{petition.campaign.slug}/", HTTP_ACCEPT_LANGUAGE="ru")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ru">' in html
    assert "Подписать петицию" in html
    assert ">Подписать</button>" in html
    assert "Ваше имя" in html
    assert "Не показывать моё имя" in html
    assert "0 подписей из 100" in html
    assert "Присылайте мне новости об этой кампании" in html
    assert "Sign the petition" not in html


@pytest.mark.django_db
def test_campaign_page_stays_english_for_an_english_browser(client):
    petition = petition_create()

    response = client.get(f"/c/{petition.campaign.slug}/", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Sign the petition" in html
    assert "Подписать петицию" not in html


@pytest.mark.django_db
def test_sign_form_errors_are_in_russian(client):
    petition = petition_create()

    response = post_and_run_tasks(
        client,
        f"/p/{petition.slug}/sign/",
        {"name": "", "email": "not-an-address", "display": "hidden"},
        HTTP_ACCEPT_LANGUAGE="ru",
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert "Пожалуйста, исправьте следующее:" in html
    assert "Пожалуйста, укажите ваше имя." in html
    assert "Введите адрес электронной почты в виде name@example.org." in html


@pytest.mark.django_db
def test_thanks_page_offers_vkontakte_in_russian(client):
    petition = petition_create()

    response = client.get(f"/p/{petition.slug}/thanks/", HTTP_ACCEPT_LANGUAGE="ru")

    html = response.content.decode()
    assert "Спасибо! Остался один шаг: проверьте почту" in html
    assert "ВКонтакте" in html
    assert "Telegram" in html


@pytest.mark.django_db
def test_language_switcher_sets_the_language(client):
    petition = petition_create()
    campaign_url = f"/c/{petition.campaign.slug}/"

    response = client.post("/i18n/setlang/", {"language": "ru", "next": campaign_url}, follow=True)

    html = response.content.decode()
    assert response.redirect_chain == [(campaign_url, 302)]
    assert client.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "ru"
    assert '<html lang="ru">' in html
    assert "Подписать петицию" in html
    # The choice sticks for the next page, whatever the browser asks for.
    later = client.get(f"/p/{petition.slug}/thanks/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="ru">' in later.content.decode()


@pytest.mark.django_db
def test_language_switcher_is_on_every_page(client):
    petition = petition_create()
    pages = [
        f"/c/{petition.campaign.slug}/",
        f"/p/{petition.slug}/thanks/",
        f"/p/{petition.slug}/confirm/",
        "/",
        "/no-such-page/",
    ]

    for url in pages:
        response = client.get(url)
        assert _switcher_offers_russian(response.content.decode()), url


@pytest.mark.django_db
def test_not_found_page_is_in_russian_for_a_russian_browser(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="ru")

    html = response.content.decode()
    assert response.status_code == 404
    assert '<html lang="ru">' in html
    assert "Страница не найдена" in html
    assert _switcher_offers_russian(html)


@pytest.mark.django_db
def test_count_api_label_is_in_the_requested_language(client):
    petition = petition_create()

    response = client.get(f"/api/v1/petitions/{petition.slug}/count/", HTTP_ACCEPT_LANGUAGE="ru")

    assert response.json()["label"] == "0 подписей из 100"


# --- Emails -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_confirmation_email_is_in_the_signers_language(
    client, settings, django_capture_on_commit_callbacks
):
    settings.CONFIRM_MAX_AGE_DAYS = 14
    petition = petition_create(title="Свободу Ивану")

    with django_capture_on_commit_callbacks(execute=True):
        response = post_and_run_tasks(
            client,
            f"/p/{petition.slug}/sign/",
            {"name": "Анна", "email": "anna@example.org", "display": "hidden"},
            HTTP_ACCEPT_LANGUAGE="ru",
        )

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    html, mimetype = message.alternatives[0]
    assert message.subject == "Подтвердите подпись: Свободу Ивану"
    assert message.body.startswith("Здравствуйте!\n")
    assert "Спасибо, что подписали петицию «Свободу Ивану»." in message.body
    assert "Ссылка и код действуют 14 дней." in message.body
    assert "Письмо отправлено через Sbor от имени организации" in message.body
    assert mimetype == "text/html"
    assert '<html lang="ru">' in html
    assert "Здравствуйте!" in html
    assert "Анна" not in message.body + html  # nothing the signer typed
    assert "Подтвердить подпись</a>" in html
    assert "Ссылка и код действуют 14 дней." in html


@pytest.mark.django_db
def test_confirmation_email_is_in_english_for_an_english_signer(
    client, django_capture_on_commit_callbacks
):
    petition = petition_create(title="Free Ivan")

    with django_capture_on_commit_callbacks(execute=True):
        post_and_run_tasks(
            client,
            f"/p/{petition.slug}/sign/",
            {"name": "Anna", "email": "anna@example.org", "display": "hidden"},
            HTTP_ACCEPT_LANGUAGE="en",
        )

    assert mail.outbox[0].subject == "Confirm your signature: Free Ivan"
    assert mail.outbox[0].body.startswith("Hello,\n")


@pytest.mark.django_db
def test_already_signed_email_is_in_russian(client, django_capture_on_commit_callbacks):
    petition = petition_create(title="Свободу Ивану")
    signature_create(
        petition=petition, email="anna@example.org", name="Анна", language="ru", confirmed=True
    )

    with django_capture_on_commit_callbacks(execute=True):
        post_and_run_tasks(
            client,
            f"/p/{petition.slug}/sign/",
            {"name": "Анна", "email": "anna@example.org", "display": "hidden"},
            HTTP_ACCEPT_LANGUAGE="ru",
        )

    message = mail.outbox[-1]
    assert message.subject == "Вы уже подписали петицию: Свободу Ивану"
    assert "Вы уже подписали её" in message.body
    assert "Вы уже подписали её" in message.alternatives[0][0]
