# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test demo bench install translations messages

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,serve,postgres,demo]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP) translations

# Compiled catalogs (.mo) are build output; the .po files are the source.
translations: $(STAMP)
	$(BIN)/pybabel -q compile -d idp/translations

# After changing texts: extract them and merge into the fi/sv/en catalogs.
messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l -o idp/translations/messages.pot .
	$(BIN)/pybabel -q update -i idp/translations/messages.pot -d idp/translations

run: install
	$(BIN)/tunnus db upgrade
	$(BIN)/tunnus demo setup
	TUNNUS_WORKERS=2 $(BIN)/python serve.py

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: install
	$(BIN)/python -m clients.demo

bench: install
	$(BIN)/python bench/token.py
