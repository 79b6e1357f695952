# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/kesu migrate --no-input
	$(BIN)/kesu demo
	$(BIN)/kesu serve 127.0.0.1:8000

test: $(STAMP)
	$(BIN)/pytest

test-postgres: $(STAMP)
	scripts/with-postgres.sh $(BIN)/pytest

clean:
	rm -rf $(VENV) var
