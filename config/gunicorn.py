"""gunicorn settings for the production image: ``gunicorn config.wsgi:application -c
config/gunicorn.py`` (Dockerfile, docker-compose.yml).

gunicorn keeps its own logs, apart from Django's: the error log names the URI of a request
it could not handle, which may be a confirmation or manage link. The same filter that
scrubs Django's and Celery's records (common.logging) is on every handler here. There is no
access log: it would hold every signer's IP address and link.
"""

from __future__ import annotations

import os

bind = os.environ.get("SBOR_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("SBOR_WEB_WORKERS", "3"))
accesslog = None
errorlog = "-"
# gunicorn's runtime control socket (gunicornc) is not used; in the image it would be
# created in a home folder the unprivileged user may not write to.
control_socket_disable = True

# Replaces gunicorn's own logging configuration (glogging.CONFIG_DEFAULTS) key by key.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_tokens": {"()": "common.logging.TokenScrubFilter"}},
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
        }
    },
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stderr",
            "filters": ["scrub_tokens"],
        }
    },
    # Django configures the root logger in each worker (settings.LOGGING); nothing here.
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {
            "level": "INFO",
            "handlers": ["error_console"],
            "filters": ["scrub_tokens"],
            "propagate": False,
        },
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}
