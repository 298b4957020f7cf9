# Production image: gunicorn for web, the same image runs the Celery worker and beat.
# fonts-dejavu-core draws the share images (Latin and Cyrillic); /var/lib/sbor/media is owned
# by the app's user so that the named volume mounted there (docker-compose.yml) is too.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SBOR_VAR_DIR=/var/lib/sbor

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app sbor \
    && mkdir -p /var/lib/sbor/media && chown -R sbor /var/lib/sbor

WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY --chown=sbor . .
# collectstatic runs with the production settings, so that it writes the manifest of hashed
# file names that production pages are rendered with (without it every page fails with
# "Missing staticfiles manifest entry"). Production refuses to start without its secrets;
# these are throwaway values that exist for this one command and never reach the image.
RUN SBOR_PRODUCTION=1 \
    SECRET_KEY=build-only-not-secret-build-only-not-secret \
    SBOR_LOOKUP_KEY=build-only-not-secret \
    SBOR_IP_HASH_KEY=build-only-not-secret \
    SBOR_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktbm90LWEtc2VjcmV0LTAwMDA= \
    ALLOWED_HOSTS=build.invalid \
    SBOR_SITE_URL=https://build.invalid \
    python manage.py collectstatic --noinput \
    && python manage.py compilemessages --locale ru

USER sbor
EXPOSE 8000
# Bind address, workers and logging (tokens scrubbed, no access log): config/gunicorn.py.
CMD ["gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py"]
