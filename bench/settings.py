"""Settings for the benchmark server: the real settings plus the reference views' URLs.

DEBUG is off, as in production (DEBUG keeps every SQL query in memory and renders slower
pages), but the production switch stays off because it redirects plain HTTP to HTTPS.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
WSGI_APPLICATION = "bench.wsgi.application"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
