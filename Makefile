# The commands a newcomer types. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 5000
HOST   ?= 127.0.0.1

.DEFAULT_GOAL := help
.PHONY: help setup db run test lint format bench check-system clean messages translations

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install the project with its test tools

# The interface's translations: the .po files are the source, the .mo files are built.
CATALOGS := $(wildcard toolkit/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

%.mo: %.po $(STAMP)
	@$(BIN)/pybabel compile --statistics -i $< -o $@

translations: $(COMPILED) ## Compile the interface's translations (.po -> .mo)

messages: setup ## Extract the interface's strings and merge them into every catalog
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--add-comments=Translators: --sort-by-file --project=toolkit \
		-o toolkit/translations/messages.pot .
	$(BIN)/pybabel update -i toolkit/translations/messages.pot -d toolkit/translations \
		--no-fuzzy-matching --ignore-obsolete
	@echo "Now translate the new entries (msgstr \"\") in toolkit/translations/*/LC_MESSAGES/messages.po"

db: setup translations ## Create or upgrade the database, then load events, member states and contacts
	$(BIN)/toolkit db upgrade
	$(BIN)/toolkit data load
	$(BIN)/toolkit resources load-demo
	$(BIN)/toolkit templates check

check-system: ## Warn about missing system libraries and fonts (PDFs need them)
	@$(BIN)/python -m toolkit.system_check

run: db check-system ## Serve the app on http://$(HOST):$(PORT)
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl-C stops)"
	$(BIN)/toolkit run --host $(HOST) --port $(PORT)

test: setup translations ## Run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup ## Run the benchmarks (by hand; they print figures)
	$(BIN)/python bench/letters.py
	$(BIN)/python bench/signing.py
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/surge.py    # needs PostgreSQL and Redis

clean: ## Remove the virtualenv and caches (keeps instance/, your database)
	rm -rf $(VENV) .pytest_cache .ruff_cache
