"""Worker settings with the test bulk kind installed (e2e tests, bench/fanout.py)."""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.bulkkind"]
