# PCP Portal: `make run` and `make test` do all the set-up on a machine with Python 3.11+.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint format deps dev-deps system-packages axe-core clean-var backup restore

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changes, so a second `make run` starts in seconds.
$(VENV)/.deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-deps: pyproject.toml $(VENV)/.deps
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

# The Debian packages the suite needs (Chromium, Khmer fonts, poppler, gettext, WeasyPrint's
# libraries): the same script .ci/run relies on; it installs what is missing, or says how.
system-packages:
	bash .ci/system-packages

# axe-core, the accessibility engine tests/browser/test_accessibility.py injects into every page:
# a test fixture only, never served to users. Pinned by version and by the tarball's SHA-256; the
# test reads AXE_CORE_VERSION from this line to find the file.
AXE_CORE_VERSION := 4.10.3
AXE_CORE_SHA256 := 0f2b4d7dcdf7d1219df8d1959ad68e565f51d14c3f0d88bb71cd59abeb956292
AXE_CORE_JS := var/axe-core-$(AXE_CORE_VERSION)/axe.min.js

$(AXE_CORE_JS):
	@command -v npm >/dev/null || { echo "axe-core: npm is needed (make system-packages installs it)" >&2; exit 1; }
	rm -rf $(@D) && mkdir -p $(@D)/pack
	cd $(@D)/pack && npm pack --silent axe-core@$(AXE_CORE_VERSION) >/dev/null
	echo "$(AXE_CORE_SHA256)  $(@D)/pack/axe-core-$(AXE_CORE_VERSION).tgz" | sha256sum --check --quiet
	tar -xzf $(@D)/pack/axe-core-$(AXE_CORE_VERSION).tgz -C $(@D)/pack package/axe.min.js package/LICENSE
	mv $(@D)/pack/package/LICENSE $(@D)/LICENSE && mv $(@D)/pack/package/axe.min.js $@
	rm -rf $(@D)/pack

axe-core: $(AXE_CORE_JS)

var/secret_key:
	mkdir -p var
	$(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	chmod 600 $@

# The local portal: DEBUG on by default (set DEBUG=0 to try production-like settings).
run: export DEBUG ?= 1
run: $(VENV)/.deps var/secret_key
	@export SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret_key)}"; \
	set -e; \
	$(BIN)/python manage.py migrate --noinput; \
	$(BIN)/python manage.py createcachetable; \
	$(BIN)/python manage.py load_public_record; \
	$(BIN)/python manage.py load_demo_data; \
	$(BIN)/python manage.py create_demo_accounts; \
	if [ "$$DEBUG" != "1" ]; then $(BIN)/python manage.py collectstatic --noinput -v0; fi; \
	echo "PCP Portal on http://127.0.0.1:8000/ (Ctrl-C stops the web server, the worker and beat)"; \
	trap 'kill 0' INT TERM; \
	$(BIN)/celery -A pcp_portal worker -Q default,reminders,imports,exports,webhooks --loglevel=INFO --concurrency=2 --without-gossip --without-mingle & \
	$(BIN)/celery -A pcp_portal beat --loglevel=INFO & \
	if [ -n "$$PCP_TELEGRAM_BOT_TOKEN" ] && [ -z "$$PCP_TELEGRAM_WEBHOOK_SECRET" ]; then $(BIN)/python manage.py telegram_poll & fi; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000 & \
	wait

# ruff for style; import-linter for the four layers (pyproject.toml [tool.importlinter]).
lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.dev-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: system-packages $(VENV)/.dev-deps lint $(AXE_CORE_JS)
	DEBUG=0 SECRET_KEY=makemigrations-check $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# Backups against DATABASE_URL (pg_dump custom format) or the embedded SQLite (its backup API).
# `make backup [FILE=path]`; `make restore FILE=path` replaces every row of the database.
backup: $(VENV)/.deps var/secret_key
	SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret_key)}" $(BIN)/python manage.py backup_database $(if $(FILE),--output "$(FILE)")

restore: $(VENV)/.deps var/secret_key
	@test -n "$(FILE)" || { echo "make restore FILE=path/to/backup"; exit 2; }
	SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret_key)}" $(BIN)/python manage.py restore_database "$(FILE)" --yes

clean-var:
	rm -rf var
