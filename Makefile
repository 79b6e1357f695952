# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres test-redis install clean messages browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/kesu migrate --no-input
	$(BIN)/kesu demo
	$(BIN)/kesu run 127.0.0.1:8000

test: $(STAMP) browser
	$(BIN)/pytest

# Debian's Chromium and a CJK font for the Playwright page tests.
browser:
	scripts/ensure-browser.sh

# TESTS=path/to/test_x.py runs only those (default: everything / kesu/comms).
test-postgres: $(STAMP)
	scripts/with-postgres.sh $(BIN)/pytest $(TESTS)

# The notification and worker tests again with Huey on a throwaway Redis (KESU_REDIS_URL).
test-redis: $(STAMP)
	scripts/with-redis.sh $(BIN)/pytest $(or $(TESTS),kesu/comms)

# Extract the translatable strings into kesu/locale/zh_Hans/LC_MESSAGES/django.po, then compile
# django.mo (needs GNU gettext). Commit both files: a fresh machine runs without msgfmt.
messages: $(STAMP)
	cd kesu && $(abspath $(BIN))/django-admin makemessages -l zh_Hans --ignore 'tests/*' --ignore '*/tests/*' --no-obsolete
	cd kesu && $(abspath $(BIN))/django-admin compilemessages -l zh_Hans

clean:
	rm -rf $(VENV) var
