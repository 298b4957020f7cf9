"""Settings for the benchmark server: the real settings plus the reference views' URLs.

DEBUG is off, as in production (DEBUG keeps every SQL query in memory and renders slower
pages), but the production switch stays off because it redirects plain HTTP to HTTPS.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
WSGI_APPLICATION = "bench.wsgi.application"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

# The load generator signs from one address, thousands of times a minute: with the real
# limits nearly every signature would take the quiet "over the limit" path. Raise them so
# the benchmark measures the normal path (hashing, limit checks and all still run).
RATE_IP_BURST_PER_MINUTE = 10_000_000
RATE_IP_SUSTAINED_PER_HOUR = 10_000_000
RATE_DOMAIN_PER_HOUR = 10_000_000
CHALLENGE_AUTO_PER_MINUTE = 10_000_000
