import pytest


@pytest.mark.django_db
def test_health_check_answers_probes_by_ip_even_when_the_host_is_not_allowed(client, settings):
    settings.ALLOWED_HOSTS = ["petitions.example.org"]
    response = client.get("/healthz", HTTP_HOST="172.18.0.5:8000")
    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.django_db
def test_other_pages_still_reject_unknown_hosts(client, settings):
    settings.ALLOWED_HOSTS = ["petitions.example.org"]
    response = client.get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
