"""Sbor settings: one file, read from the environment.

Defaults run on a laptop with no services (SQLite, a filesystem broker, email written to
``var/outbox``). Production switches on with ``SBOR_PRODUCTION=1``, which also makes the
secrets and hosts mandatory. See README "Configuration" for every variable.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import (
    env_bool,
    env_choice,
    env_durations,
    env_int,
    env_list,
    env_prefixed,
    env_required,
    env_str,
)
from trust.providers import RATE_DOMAIN_EXEMPT_DEFAULT

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SBOR_VAR_DIR") or BASE_DIR / "var")

PRODUCTION = env_bool("SBOR_PRODUCTION", False)
DEBUG = env_bool("SBOR_DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("SBOR_DEBUG cannot be on when SBOR_PRODUCTION is on")

if PRODUCTION:
    SECRET_KEY = env_required("SECRET_KEY")
    # Keys the email look-up hash; changing it breaks de-duplication, so it is its own secret.
    SBOR_LOOKUP_KEY = env_required("SBOR_LOOKUP_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must list the site's host names in production")
    SITE_URL = env_required("SBOR_SITE_URL")
    # Fernet keys for personal data at rest, comma-separated; the first one encrypts.
    SBOR_ENCRYPTION_KEYS = env_list("SBOR_ENCRYPTION_KEYS")
    if not SBOR_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("SBOR_ENCRYPTION_KEYS must hold at least one Fernet key")
    # Keys the IP hashes together with a per-period random salt kept in the database.
    SBOR_IP_HASH_KEY = env_required("SBOR_IP_HASH_KEY")
else:
    SECRET_KEY = env_str("SECRET_KEY") or "django-insecure-development-key-not-for-production-use"
    SBOR_LOOKUP_KEY = env_str("SBOR_LOOKUP_KEY") or "development-lookup-key"
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
    # `make run` serves on SBOR_PORT (Procfile.dev); emailed links follow it unless set.
    SBOR_PORT = env_int("SBOR_PORT", 8000, minimum=1)
    if SBOR_PORT > 65535:
        raise ImproperlyConfigured(f"SBOR_PORT={SBOR_PORT} is not a TCP port")
    SITE_URL = env_str("SBOR_SITE_URL") or f"http://127.0.0.1:{SBOR_PORT}"
    # A fixed development key (base64 of 32 bytes): data encrypted with it is not protected.
    SBOR_ENCRYPTION_KEYS = env_list(
        "SBOR_ENCRYPTION_KEYS", ["c2Jvci1kZXZlbG9wbWVudC1rZXktbm90LXNlY3JldCE="]
    )
    SBOR_IP_HASH_KEY = env_str("SBOR_IP_HASH_KEY") or "development-ip-hash-key"
# Former SECRET_KEYs: links signed with them (confirmation, manage) still open after a
# rotation, until they expire.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
SITE_URL = SITE_URL.rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SBOR_SITE_URL={SITE_URL!r} must start with http:// or https://")
# Emailed links carry tokens (confirmation, manage, List-Unsubscribe): never over plain HTTP
# in production, unless a local test of production mode says so explicitly.
if (
    PRODUCTION
    and not SITE_URL.startswith("https://")
    and not env_bool("SBOR_ALLOW_HTTP_SITE_URL", False)
):
    raise ImproperlyConfigured(
        f"SBOR_SITE_URL={SITE_URL!r} must start with https:// in production "
        "(SBOR_ALLOW_HTTP_SITE_URL=1 allows http:// for a local test of production mode)"
    )
if len(SECRET_KEY) < 32 and PRODUCTION:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters")

INSTALLED_APPS = [
    # The Django admin, reached only through the workspace's sign-in and two-factor step.
    "config.apps.SborAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "anymail",
    "django_countries",
    # Two-factor for organisers: TOTP devices and single-use recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "trust",
    "campaigns",
    "petitions",
    "updates",
    "mailer",
    "workspace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, so that answers made by later middleware (static files, redirects, the 400 for
    # an unknown host raised in CommonMiddleware) carry these headers too.
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Before anything that validates the Host header; see HealthCheckMiddleware.
    "config.views.HealthCheckMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After SessionMiddleware, so that it marks the session before that saves it.
    "workspace.middleware.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Sets request.user.is_verified(): whether this session gave a second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, so its process_exception sees a view's database outage first: 503, not 500.
    "config.outage.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'sbor.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except (ValueError, KeyError) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL cannot be used: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite creates its file but not the folder around it.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of
        # failing with "database is locked" halfway through a transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so that a worker process started by a test sees the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database host that does not answer fails a request (503) within seconds, instead
    # of the minutes TCP would wait. DATABASE_URL's ?connect_timeout= takes precedence.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery --------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL") or ""
# Redis down or not answering must cost a request at most this long per use, never hang it:
# the cache and the broker give up after it, as the rate limits do (trust.ratelimit's own
# 0.5 s). See README "When parts fail".
REDIS_TIMEOUT_SECONDS = 0.5
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, answering as an empty cache while Redis is unreachable.
            "BACKEND": "common.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "sbor",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL == "filesystem://":
    # kombu's filesystem transport: a broker that needs no server, for the laptop defaults.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Exchange tables; without this kombu puts them in the current directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis redelivers an unacknowledged task after this many seconds; it must outlast
        # the longest task, or a slow send would be delivered twice while still running.
        "visibility_timeout": 3600,
        # A publish to a broker that is down or silent fails within this, instead of
        # hanging the request (kombu's default is to wait forever). The worker's BRPOP is
        # read by its event loop, which these timeouts do not touch.
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
    }
# Connecting to the broker at all gives up after this (kombu's default is 4 s).
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT_SECONDS
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
COUNT_INTERVAL_SECONDS = env_int("SBOR_COUNT_INTERVAL_SECONDS", 5, minimum=1)
# How often the outbox sweep re-enqueues lost sends (see MAILER_CLAIM_LEASE_SECONDS).
MAILER_REQUEUE_INTERVAL_SECONDS = env_int("SBOR_MAIL_REQUEUE_INTERVAL_SECONDS", 15, minimum=1)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Folds newly confirmed signatures into each petition's stored count.
    "signature-counts-refresh": {
        "task": "petitions.tasks.signature_counts_refresh",
        "schedule": float(COUNT_INTERVAL_SECONDS),
        "options": {"expires": float(COUNT_INTERVAL_SECONDS)},
    },
    # Recounts from the rows, in case a counter ever drifted.
    "signature-counts-repair": {
        "task": "petitions.tasks.signature_counts_repair",
        "schedule": 600.0,
        "options": {"expires": 600.0},
    },
    # Processes sign attempts whose task was lost; deletes attempts whose link expired.
    "sign-attempts-sweep": {
        "task": "petitions.tasks.sign_attempts_sweep",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Reminds signers whose signature awaits confirmation (CONFIRM_REMINDER_DELAYS).
    "signature-reminders-send": {
        "task": "petitions.tasks.signature_reminders_send",
        "schedule": 300.0,
        "options": {"expires": 300.0},
    },
    # Per-status counts behind each petition's integrity line.
    "petition-integrity-refresh": {
        "task": "petitions.tasks.petition_integrity_refresh",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Drops the addresses of those who just confirmed (marked on confirming), in batches.
    "supporter-emails-drop-due": {
        "task": "petitions.tasks.supporter_emails_drop_due",
        "schedule": float(COUNT_INTERVAL_SECONDS),
        "options": {"expires": float(COUNT_INTERVAL_SECONDS)},
    },
    # Drops plaintext emails nobody consented to keep, once no mail is due (everyone).
    "supporter-emails-drop": {
        "task": "petitions.tasks.supporter_emails_drop",
        "schedule": 600.0,
        "options": {"expires": 600.0},
    },
    # Closes open petitions whose deadline has passed (they take no signatures already).
    "petitions-close-due": {
        "task": "petitions.tasks.petitions_close_due",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Anonymises petitions closed longer than their campaign's retention period.
    "petitions-retention-apply": {
        "task": "petitions.tasks.petitions_retention_apply",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Drops IP hashes older than the fraud window, and the salts that keyed them.
    "ip-hashes-drop": {
        "task": "petitions.tasks.signature_ip_hashes_drop",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Answers manage-link requests whose task was lost; deletes those too old to answer.
    "manage-link-requests-sweep": {
        "task": "petitions.tasks.manage_link_requests_sweep",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Answers password-reset requests whose task was lost; deletes those too old to answer.
    "password-reset-requests-sweep": {
        "task": "workspace.tasks.password_reset_requests_sweep",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Deletes people whose last signature was withdrawn days ago.
    "supporters-unlinked-delete": {
        "task": "petitions.tasks.supporters_unlinked_delete",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Starts scheduled updates that are due; marks updates sent once every delivery is done.
    "updates-tick": {
        "task": "updates.tasks.updates_tick",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Re-enqueues outbox rows whose task was lost (broker down at commit time, worker killed).
    # Often: with MAILER_CLAIM_LEASE_SECONDS it bounds how late mail from a dead worker is.
    "outbox-requeue": {
        "task": "mailer.tasks.outbox_requeue",
        "schedule": float(MAILER_REQUEUE_INTERVAL_SECONDS),
        "options": {"expires": float(MAILER_REQUEUE_INTERVAL_SECONDS)},
    },
    # Bulk mail: batches of dead workers back to the queue, rows in doubt to "unknown",
    # lost send tasks enqueued again, finished mailings marked done.
    "mailings-sweep": {
        "task": "mailer.tasks.mailings_sweep",
        "schedule": float(MAILER_REQUEUE_INTERVAL_SECONDS),
        "options": {"expires": float(MAILER_REQUEUE_INTERVAL_SECONDS)},
    },
    # Deletes invitations to organisations that expired unaccepted, with their addresses.
    "invitations-expired-delete": {
        "task": "campaigns.tasks.invitations_expired_delete",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Provider events (webhooks) whose task was lost are processed; old ones deleted.
    "email-events-sweep": {
        "task": "mailer.tasks.email_events_sweep",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}

# --- Email --------------------------------------------------------------------------------
MAIL_BACKEND = env_choice(
    "SBOR_MAIL_BACKEND",
    ("outbox", "smtp", "anymail", "console", "locmem"),
    "smtp" if PRODUCTION else "outbox",
)
OUTBOX_DIR = Path(env_str("SBOR_OUTBOX_DIR") or VAR_DIR / "outbox")
# Seconds each step of a send may wait for the provider (an SMTP reply, an HTTP response).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
if MAIL_BACKEND == "outbox":
    EMAIL_BACKEND = "mailer.backends.LocalOutboxBackend"
elif MAIL_BACKEND == "smtp":
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
    # Production mail carries confirmation links and crosses the internet: STARTTLS unless
    # told otherwise (EMAIL_USE_SSL=1 for implicit TLS, EMAIL_USE_TLS=0 for a local relay).
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", PRODUCTION and not EMAIL_USE_SSL)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
    EMAIL_PORT = env_int(
        "EMAIL_PORT", 465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25, minimum=1
    )
elif MAIL_BACKEND == "anymail":
    # Any ESP that django-anymail supports. Its settings come from ANYMAIL_* variables
    # (ANYMAIL below).
    ANYMAIL_ESP = env_required("SBOR_ANYMAIL_ESP")
    if not ANYMAIL_ESP.replace("_", "").isalnum():
        raise ImproperlyConfigured(f"SBOR_ANYMAIL_ESP={ANYMAIL_ESP!r} is not an ESP name")
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_ESP}.EmailBackend"
elif MAIL_BACKEND == "console":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The ESP's settings: ANYMAIL_POSTMARK_SERVER_TOKEN=… (or ANYMAIL_POSTMARK_SERVER_TOKEN_FILE)
# becomes ANYMAIL = {"POSTMARK_SERVER_TOKEN": "…"}. Read whatever the backend: an ESP's
# webhooks also serve mail sent through its SMTP relay.
ANYMAIL: dict[str, object] = dict(env_prefixed("ANYMAIL_"))

# Provider webhooks (docs/emails.md, "Webhooks"): /anymail/<esp>/tracking/ answers for these
# ESPs only (anymail module names); by default the ESP mail goes through. While switching
# ESPs, list both: the old one still reports bounces of what it sent.
MAILER_WEBHOOK_ESPS = env_list(
    "SBOR_WEBHOOK_ESPS", [ANYMAIL_ESP] if MAIL_BACKEND == "anymail" else []
)
for _esp in MAILER_WEBHOOK_ESPS:
    if not _esp.replace("_", "").isalnum():
        raise ImproperlyConfigured(f"SBOR_WEBHOOK_ESPS: {_esp!r} is not an ESP name")
# The basic-auth credentials ESPs must send ("user:password", comma-separated). Any of them
# is accepted, so a secret is rotated by adding the new one, moving the ESP to it, and
# removing the old one.
MAILER_WEBHOOK_SECRETS = env_list("SBOR_WEBHOOK_SECRETS")
for _secret in MAILER_WEBHOOK_SECRETS:
    _user, _colon, _password = _secret.partition(":")
    if not (_user and _colon and _password):
        raise ImproperlyConfigured("SBOR_WEBHOOK_SECRETS must list user:password pairs")
    if PRODUCTION and len(_password) < 16:
        raise ImproperlyConfigured("SBOR_WEBHOOK_SECRETS: a password needs 16 characters or more")
if MAILER_WEBHOOK_SECRETS:
    if "WEBHOOK_SECRET" in ANYMAIL:
        raise ImproperlyConfigured("set SBOR_WEBHOOK_SECRETS or ANYMAIL_WEBHOOK_SECRET, not both")
    ANYMAIL["WEBHOOK_SECRET"] = MAILER_WEBHOOK_SECRETS
if PRODUCTION and MAILER_WEBHOOK_ESPS and not ANYMAIL.get("WEBHOOK_SECRET"):
    # Without it anyone could post bounces and complaints and suppress any address.
    raise ImproperlyConfigured(
        "SBOR_WEBHOOK_SECRETS must be set when an ESP's webhooks are on (SBOR_WEBHOOK_ESPS)"
    )

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "Sbor <no-reply@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Transient send failures are retried this many times with exponential backoff and jitter.
MAILER_MAX_ATTEMPTS = env_int("SBOR_MAIL_MAX_ATTEMPTS", 8, minimum=1)
# A send still running after this many seconds is stopped (Celery's hard time limit on the
# send task, prefork pool) and left to the sweep below. A few slow provider steps fit in it.
MAILER_SEND_TIME_LIMIT_SECONDS = env_int(
    "SBOR_MAIL_SEND_TIME_LIMIT_SECONDS", 2 * EMAIL_TIMEOUT, minimum=1
)
# A message claimed by a worker that died mid-send is sent again once its claim is this old.
# It outlasts the time limit, with a margin for clocks that differ between machines, so a
# send still running is never taken over.
MAILER_CLAIM_LEASE_SECONDS = MAILER_SEND_TIME_LIMIT_SECONDS + 20
# How long a queued message waits for the task enqueued at commit before the outbox sweep
# (every MAILER_REQUEUE_INTERVAL_SECONDS) enqueues it again: broker down, task lost.
MAILER_REQUEUE_AFTER_SECONDS = env_int("SBOR_MAIL_REQUEUE_AFTER_SECONDS", 60, minimum=1)

# Bulk mail (docs/emails.md, "Bulk mail"): mailings to many people travel on the "bulk"
# queue, in batches, and never delay transactional mail on "mail".
# The provider's quota in messages per second, shared by every bulk worker through Redis
# (0: no limit).
MAILER_BULK_RATE = env_int("SBOR_MAIL_BULK_RATE", 0, minimum=0)
# Deliveries a send task claims at once: one suppression query, one builder call and one
# connection to the provider per batch.
MAILER_BULK_BATCH_SIZE = env_int("SBOR_MAIL_BULK_BATCH_SIZE", 500, minimum=1)
# Recipients per ESP batch call (where the backend has a batch path): a worker killed
# during a call leaves that many deliveries "unknown", so keep it modest.
MAILER_BULK_CALL_SIZE = env_int("SBOR_MAIL_BULK_CALL_SIZE", 100, minimum=1)
# Send tasks started per mailing; each claims batches until none are left. Match it to the
# bulk workers' total concurrency.
MAILER_BULK_TASKS = env_int("SBOR_MAIL_BULK_TASKS", 2, minimum=1)
# A send task hands its mailing over to a fresh task after this long, so a task's life stays
# short and mailings started later get their turn.
MAILER_BULK_TASK_SECONDS = env_int("SBOR_MAIL_BULK_TASK_SECONDS", 60, minimum=1)
# A batch claimed by a worker that died is given to another after this long; a row being
# handed to the provider by a worker that died is recorded "unknown" after
# MAILER_CLAIM_LEASE_SECONDS and never sent again.
MAILER_BULK_LEASE_SECONDS = env_int("SBOR_MAIL_BULK_LEASE_SECONDS", 120, minimum=1)
# The sweep enqueues new send tasks for a mailing that has had none at work for this long.
MAILER_BULK_STALE_SECONDS = env_int("SBOR_MAIL_BULK_STALE_SECONDS", 60, minimum=1)
# "auto": one ESP call per batch where the backend supports batch sending (anymail's test
# and Mailgun backends); "off": one message at a time over one connection, always.
MAILER_BULK_BATCH_API = env_choice("SBOR_MAIL_BULK_BATCH_API", ("auto", "off"), "auto")

# --- Petitions ----------------------------------------------------------------------------
# How long a confirmation link and code stay valid.
CONFIRM_MAX_AGE_DAYS = env_int("SBOR_CONFIRM_MAX_AGE_DAYS", 14, minimum=1)
# Signing again with the same address mails the person again at most this often.
DUPLICATE_EMAIL_INTERVAL_SECONDS = env_int("SBOR_DUPLICATE_EMAIL_INTERVAL_SECONDS", 120, minimum=0)
# Reminders to confirm a pending signature, this long after signing ("24h,72h"; units s, m,
# h, d; empty: no reminders). At most two, each while the link still works.
CONFIRM_REMINDER_DELAYS = env_durations("SBOR_CONFIRM_REMINDER_DELAYS", "24h,72h")
if len(CONFIRM_REMINDER_DELAYS) > 2:
    raise ImproperlyConfigured("SBOR_CONFIRM_REMINDER_DELAYS: at most two reminders")
if sorted(set(CONFIRM_REMINDER_DELAYS)) != CONFIRM_REMINDER_DELAYS:
    raise ImproperlyConfigured("SBOR_CONFIRM_REMINDER_DELAYS: each delay longer than the last")
if any(delay >= CONFIRM_MAX_AGE_DAYS * 86400 for delay in CONFIRM_REMINDER_DELAYS):
    raise ImproperlyConfigured(
        "SBOR_CONFIRM_REMINDER_DELAYS: every reminder must come before the link expires "
        "(SBOR_CONFIRM_MAX_AGE_DAYS)"
    )
# Confirmation emails per signature in all: the first, those for repeat sign attempts and
# the reminders. Anyone can type a stranger's address; this bounds what the stranger gets.
CONFIRM_EMAILS_MAX = env_int("SBOR_CONFIRM_EMAILS_MAX", 4, minimum=1)

# --- Updates to supporters ----------------------------------------------------------------
# How long the unsubscribe and preferences links in an update keep working. Long: people
# unsubscribe from old emails, and RFC 8058 asks that the one-click link last.
UPDATES_LINK_MAX_AGE_DAYS = env_int("SBOR_UPDATES_LINK_MAX_AGE_DAYS", 365, minimum=30)
# People added to an update's mailing per step of its planning (one query and one INSERT).
UPDATES_PLAN_CHUNK = env_int("SBOR_UPDATES_PLAN_CHUNK", 1000, minimum=1)

# --- Trust: fraud resistance and privacy ---------------------------------------------------
# How many proxies in front of the app append to X-Forwarded-For. 0: use REMOTE_ADDR only,
# so a client cannot choose the address the rate limits see by sending the header.
TRUSTED_PROXY_COUNT = env_int("SBOR_TRUSTED_PROXY_COUNT", 0, minimum=0)
# IP hashes (and the salts that key them) are kept this long, then dropped.
FRAUD_WINDOW_DAYS = env_int("SBOR_FRAUD_WINDOW_DAYS", 30, minimum=1)
# A new IP-hash salt starts this often; the same address hashes differently across periods.
IP_HASH_ROTATE_DAYS = env_int("SBOR_IP_HASH_ROTATE_DAYS", 7, minimum=1)
# Signature attempts per client IP: a burst limit per minute and a sustained one per hour.
# Past either, signatures are accepted quietly but marked fraudulent.
RATE_IP_BURST_PER_MINUTE = env_int("SBOR_RATE_IP_BURST_PER_MINUTE", 10, minimum=1)
RATE_IP_SUSTAINED_PER_HOUR = env_int("SBOR_RATE_IP_SUSTAINED_PER_HOUR", 60, minimum=1)
# Signature attempts per email domain per hour, except for the large and privacy providers
# (trust/providers.py); only attempts that pass every other check count against it.
RATE_DOMAIN_PER_HOUR = env_int("SBOR_RATE_DOMAIN_PER_HOUR", 100, minimum=1)
RATE_DOMAIN_EXEMPT = env_list("SBOR_RATE_DOMAIN_EXEMPT", RATE_DOMAIN_EXEMPT_DEFAULT)
# Sign-in attempts (the workspace's, which the admin's goes through) per hour: per client
# (IPv4 address or IPv6 /64) and per IPv6 /48; per account name typed (whether or not it
# exists) from one client; and per account name from all clients together, high enough that
# a few strangers cannot lock staff out. Past any of them, the sign-in form refuses without
# checking the password. Second-factor codes are counted apart under the same limits.
RATE_LOGIN_IP_PER_HOUR = env_int("SBOR_RATE_LOGIN_IP_PER_HOUR", 30, minimum=1)
RATE_LOGIN_NETWORK_PER_HOUR = env_int(
    "SBOR_RATE_LOGIN_NETWORK_PER_HOUR", 4 * RATE_LOGIN_IP_PER_HOUR, minimum=1
)
RATE_LOGIN_ACCOUNT_PER_HOUR = env_int("SBOR_RATE_LOGIN_ACCOUNT_PER_HOUR", 10, minimum=1)
RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR = env_int(
    "SBOR_RATE_LOGIN_ACCOUNT_TOTAL_PER_HOUR", 100, minimum=1
)
# Requests for a password-reset email per hour, per client and per address typed (whether
# or not an account has it). Past the per-address limit the answer stays the same and no
# mail goes.
RATE_PASSWORD_RESET_IP_PER_HOUR = env_int("SBOR_RATE_PASSWORD_RESET_IP_PER_HOUR", 10, minimum=1)
RATE_PASSWORD_RESET_ADDRESS_PER_HOUR = env_int(
    "SBOR_RATE_PASSWORD_RESET_ADDRESS_PER_HOUR", 3, minimum=1
)
# Typed confirmation codes per hour, per client (IPv4 address or IPv6 /64) and per IPv6 /48
# (the emailed link is never limited).
RATE_CONFIRM_CODE_PER_HOUR = env_int("SBOR_RATE_CONFIRM_CODE_PER_HOUR", 30, minimum=1)
RATE_CONFIRM_CODE_NETWORK_PER_HOUR = env_int(
    "SBOR_RATE_CONFIRM_CODE_NETWORK_PER_HOUR", 4 * RATE_CONFIRM_CODE_PER_HOUR, minimum=1
)
# Requests for a manage link ("/manage/") per client IP and per address, per hour. Counted
# the same whether or not the address has signed. Past the per-address limit (which the
# owner shares with whoever types the address) the answer stays the same and no mail goes.
RATE_MANAGE_IP_PER_HOUR = env_int("SBOR_RATE_MANAGE_IP_PER_HOUR", 5, minimum=1)
RATE_MANAGE_ADDRESS_PER_HOUR = env_int("SBOR_RATE_MANAGE_ADDRESS_PER_HOUR", 3, minimum=1)
# A person gets at most one manage-link email this often, whatever the limits above allow.
MANAGE_LINK_INTERVAL_SECONDS = env_int("SBOR_MANAGE_LINK_INTERVAL_SECONDS", 600, minimum=0)
# Signature attempts per petition per minute above which the proof-of-work challenge is
# switched on for that petition, for CHALLENGE_AUTO_MINUTES.
CHALLENGE_AUTO_PER_MINUTE = env_int("SBOR_CHALLENGE_AUTO_PER_MINUTE", 120, minimum=1)
CHALLENGE_AUTO_MINUTES = env_int("SBOR_CHALLENGE_AUTO_MINUTES", 15, minimum=1)
# Proof-of-work difficulty: the solver tries up to this many hashes (about a second on a phone).
CHALLENGE_MAX_NUMBER = env_int("SBOR_CHALLENGE_MAX_NUMBER", 100_000, minimum=1)
# Without JavaScript, the challenge is a short wait instead of work.
CHALLENGE_WAIT_SECONDS = env_int("SBOR_CHALLENGE_WAIT_SECONDS", 5, minimum=0)
# Default retention for new campaigns: days after a petition closes until its signers'
# personal data is anonymised.
SBOR_RETENTION_DAYS = env_int("SBOR_RETENTION_DAYS", 180, minimum=1)

# --- Workspace ----------------------------------------------------------------------------
# How long an invitation to join an organisation (and the link in its email) stays valid.
INVITATION_DAYS = env_int("SBOR_INVITATION_DAYS", 7, minimum=1)

# --- Hero images and share images ---------------------------------------------------------
# An uploaded hero image larger than this (bytes), or with more pixels than this, is refused
# with a field error before it is decoded. The proxy refuses request bodies over 32 MB.
HERO_MAX_BYTES = env_int("SBOR_HERO_MAX_BYTES", 8 * 1024 * 1024, minimum=1)
# 16 MP: decoding one takes ~64 MB as RGBA (a 40 MP PNG of a few kB took ~600 MB).
HERO_MAX_PIXELS = env_int("SBOR_HERO_MAX_PIXELS", 16_000_000, minimum=1)
# TrueType fonts that draw the share image (Debian's fonts-dejavu-core: Latin and Cyrillic).
# A missing font is logged once and Pillow's built-in font is used instead.
SHARE_FONT = env_str("SBOR_SHARE_FONT") or "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SHARE_FONT_BOLD = (
    env_str("SBOR_SHARE_FONT_BOLD") or "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
)

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
# collectstatic writes here; the image keeps the default, a test builds into a folder of its own.
STATIC_ROOT = Path(env_str("SBOR_STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside production, serve straight from the source folders: no collectstatic needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
# Uploaded files (campaigns' hero images), written by the web process under random names.
# `make run` serves them itself (config/urls.py); in production Caddy serves /media/ from
# the volume the web container writes to (docker-compose.yml, Caddyfile).
MEDIA_ROOT = Path(env_str("SBOR_MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Auth ---------------------------------------------------------------------------------
# Organisers' passwords: Argon2id first (argon2-cffi); older hashes still verify and are
# upgraded at the next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "workspace:login"
LOGIN_REDIRECT_URL = "workspace:home"
# Organisers' sessions end after this long without use of the workspace or the admin
# (workspace.middleware.SessionRefreshMiddleware slides the expiry there, and only there:
# public pages and the API never send the session cookie back), and with the browser.
SESSION_COOKIE_AGE = env_int("SBOR_SESSION_SECONDS", 8 * 3600, minimum=300)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
OTP_TOTP_ISSUER = "Sbor"
# A password-reset link works this long (it is made when the email is sent).
PASSWORD_RESET_TIMEOUT = env_int("SBOR_PASSWORD_RESET_SECONDS", 2 * 3600, minimum=300)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a nesting limit: a deep body is a 400, never a RecursionError.
    "DEFAULT_PARSER_CLASSES": ["common.parsers.BoundedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
}

# --- Security -----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Health probes from the container network arrive over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    if env_bool("SBOR_BEHIND_TLS_PROXY", True):
        # The proxy in front terminates TLS and says so in this header.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Content-Security-Policy (django-csp) -------------------------------------------------
# Everything comes from this site: no inline scripts or styles (templates use classes and
# static files), no eval, no third-party hosts. A view that must differ says so with
# csp.decorators: petitions.embed.embeddable lets any site frame the embed views. The Django
# admin (5.2) needs no exception: its scripts and styles are static files, and its one inline
# <style> (a column width on change lists that have no actions) is cosmetic when blocked;
# tests/e2e/browser/test_browser.py walks the admin in Chromium and fails on any violation.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
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
        # The proof-of-work solver may run in a web worker loaded from our static files.
        "worker-src": ["'self'"],
        # Behind TLS only: on a laptop's plain HTTP it would break every sub-resource.
        "upgrade-insecure-requests": PRODUCTION,
    },
}

# --- Logging ------------------------------------------------------------------------------
# Personal data (emails, names, IPs) is never passed to a logger. Tokens reach loggers inside
# paths (a CSRF failure, a server error, runserver's request lines, a task's exception), so
# one filter (common.logging) rewrites them on every handler, and on the loggers known to
# write paths so that anything else listening to them gets the scrubbed record as well.
# gunicorn's own logs use the same filter (config/gunicorn.py).
LOG_LEVEL = env_choice("SBOR_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "INFO")
# Celery writes two INFO lines per task run ("received", "succeeded"); with counts refreshed
# every few seconds they would bury the lines a person looks for (the outbox links in
# development, warnings in production). Raise to INFO to see every task run.
TASK_LOG_LEVEL = env_choice(
    "SBOR_TASK_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "WARNING"
)
_SCRUBBED = {"filters": ["scrub_tokens"]}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_tokens": {"()": "common.logging.TokenScrubFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["scrub_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's defaults give "django" handlers of its own (an unfiltered console in
        # DEBUG, mail to ADMINS): drop them, so that its records reach the root handler only.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # 4xx answers are not logged: a 404 line would carry whatever path a client typed.
        "django.request": {"level": "ERROR", **_SCRUBBED},
        "django.security.csrf": _SCRUBBED,
        # runserver's request lines (Django's defaults stop them at a handler of their own).
        "django.server": {
            "level": "WARNING" if PRODUCTION else "INFO",
            "propagate": True,
            **_SCRUBBED,
        },
        "celery.app.trace": {"level": TASK_LOG_LEVEL, **_SCRUBBED},
        "celery.worker.strategy": {"level": TASK_LOG_LEVEL},
        "celery.beat": {"level": TASK_LOG_LEVEL},
        "celery.redirected": _SCRUBBED,
    },
}
if CELERY_BROKER_URL == "filesystem://":
    # kombu warns "No hostname was supplied" on every publish to the filesystem broker, which
    # has no host by design: on the embedded defaults that line would fill make run's console.
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}  # type: ignore[index]
