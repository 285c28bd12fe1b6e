# Témoin — see README.md. Every target sets up its own virtual environment first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export TEMOIN_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test lint bench bench-custody bench-access bench-search bench-ingest setup clean translations

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Témoin needs Python 3.11 or newer"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian, run 'apt-get install -y python3-venv' first"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(STAMP)
	$(BIN)/temoin init
	$(BIN)/temoin seed
	$(BIN)/temoin serve

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-custody: $(STAMP)
	$(BIN)/python -m bench.custody

bench-access: $(STAMP)
	$(BIN)/python -m bench.access

bench-search: $(STAMP)
	$(BIN)/python -m bench.search

bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest

# Re-extract the web pages' strings, merge them into each catalog, compile the .mo files
# (committed, so that an install needs no build step). Then translate what is new.
TRANSLATIONS := archive/web/translations
translations: $(STAMP)
	$(BIN)/pybabel extract -F pyproject.toml -k lazy_gettext --no-location --sort-output \
		--project Témoin --copyright-holder "Témoin contributors" \
		-o $(TRANSLATIONS)/messages.pot archive/web
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
