# Sbor. `make run` sets everything up and starts the platform on embedded defaults;
# `make test` runs the whole suite. Both work on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run setup test lint format messages bench clean

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $(STAMP)

setup: $(STAMP)
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo

run: setup
	@echo "Sbor: http://127.0.0.1:$${SBOR_PORT:-8000}/c/russia-behind-bars/  (emails: var/outbox/)"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile.dev start

# Browser tests drive Debian's chromium, the catalogue test runs GNU gettext, and the outage
# tests start their own redis-server and PostgreSQL, the share images are drawn with DejaVu;
# install them when missing and we may (root).
test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 && command -v xgettext >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium gettext redis-server postgresql fonts-dejavu-core >/dev/null; } || { echo "the tests need chromium, gettext, redis-server, postgresql and fonts-dejavu-core: apt-get install chromium gettext redis-server postgresql fonts-dejavu-core"; exit 1; }
	mkdir -p var
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: $(STAMP)
	$(BIN)/python manage.py makemessages --locale ru --no-obsolete --ignore '.venv/*' --ignore 'var/*'
	$(BIN)/python manage.py compilemessages --locale ru

# Benchmarks against a real gunicorn, PostgreSQL and Redis: ratios to reference views (bench/).
bench: $(STAMP)
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf var staticfiles
