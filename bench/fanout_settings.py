"""Settings for the fan-out benchmark: the bench settings, its bulk kind, and its backend.

BENCH_FANOUT_ESP=1: anymail's test backend, without memory (one call per batch);
otherwise whatever SBOR_MAIL_BACKEND says (the benchmark's SMTP sink).
"""

import os

from bench.settings import *  # noqa: F403
from bench.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.fanout_app.FanoutConfig"]
if os.environ.get("BENCH_FANOUT_ESP") == "1":
    EMAIL_BACKEND = "bench.fanout_app.DiscardingTestBackend"
