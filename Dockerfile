# Production image: gunicorn for web, the same image runs the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SBOR_VAR_DIR=/var/lib/sbor

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app sbor \
    && mkdir -p /var/lib/sbor && chown sbor /var/lib/sbor

WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY --chown=sbor . .
RUN SECRET_KEY=build-only-not-secret-build-only-not-secret python manage.py collectstatic --noinput \
    && python manage.py compilemessages --locale ru

USER sbor
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
