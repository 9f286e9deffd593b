# Yonten: `make run` serves a demo, `make test` runs the tests. Both install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMPS := .stamps
HOST   ?= 127.0.0.1
PORT   ?= 5000
# pytest arguments, e.g. `make test PYTEST_ARGS="tests/users -x"`.
PYTEST_ARGS ?=

# Debian packages: ffmpeg for video, Noto fonts so Tibetan and Chinese render in
# PDFs and screenshots, Chromium for the browser tests, poppler for PDF checks.
RUN_DEBS  := ffmpeg fonts-noto-core fonts-noto-cjk
TEST_DEBS := $(RUN_DEBS) chromium poppler-utils sqlite3
BENCH_DEBS := $(TEST_DEBS) wrk

.PHONY: run test install install-dev system-deps system-deps-test translations messages \
        lint bench clean

run: install system-deps translations
	$(BIN)/lms db upgrade
	$(BIN)/lms demo
	$(BIN)/lms serve --host $(HOST) --port $(PORT)

test: install-dev system-deps-test translations
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)
	@if [ -n "$$LMS_TEST_DATABASE_URL" ]; then \
	  echo "== The suite again on PostgreSQL ($$LMS_TEST_DATABASE_URL): every test that uses the database, browser tests aside =="; \
	  LMS_TEST_BACKEND=postgresql $(BIN)/python -m pytest -n 2 -m "not e2e and not no_database" $(PYTEST_ARGS); \
	fi

install: $(STAMPS)/install
install-dev: $(STAMPS)/install-dev

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Yonten needs Python 3.11 or newer; set PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed; installing Debian's python3-venv"; \
	  $(call apt_install,python3-venv) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

# pip's own chatter goes to a log, shown only when the install fails.
$(STAMPS)/install: pyproject.toml | $(VENV)/bin/python
	@mkdir -p $(STAMPS)
	@echo "Installing Yonten into $(VENV)"
	@$(BIN)/python -m pip install --quiet -e . > $(STAMPS)/pip.log 2>&1 || \
	  { cat $(STAMPS)/pip.log; exit 1; }
	@touch $@

$(STAMPS)/install-dev: pyproject.toml | $(VENV)/bin/python
	@mkdir -p $(STAMPS)
	@echo "Installing Yonten and its test tools into $(VENV)"
	@$(BIN)/python -m pip install --quiet -e '.[dev]' > $(STAMPS)/pip.log 2>&1 || \
	  { cat $(STAMPS)/pip.log; exit 1; }
	@touch $@ $(STAMPS)/install

# apt_install: install Debian packages when running as root (or with sudo) and
# apt-get exists; otherwise say exactly what to install.
define apt_install
	if command -v apt-get >/dev/null 2>&1; then \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(1) >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null 2>&1 && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(1) >/dev/null; } || \
	  { echo "Could not install $(1); please run: sudo apt-get install $(1)"; exit 1; }; \
	else echo "Please install: $(1) (Debian package names)"; exit 1; fi
endef

missing_debs = $(shell for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done)

system-deps:
	@missing="$(call missing_debs,$(RUN_DEBS))"; \
	if [ -n "$$missing" ] && ! { [ "$$missing" = ffmpeg ] && command -v ffmpeg >/dev/null; }; then \
	  echo "Installing $$missing from Debian's packages"; $(call apt_install,$$missing); fi

system-deps-test:
	@missing="$(call missing_debs,$(TEST_DEBS))"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing $$missing from Debian's packages"; $(call apt_install,$$missing); fi

# Compiled catalogues are built here, never committed.
translations: install
	@$(BIN)/pybabel --quiet compile -d lms/translations -D messages

# For developers: pull new strings out of the code into every catalogue.
messages: install
	$(BIN)/pybabel --quiet extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output \
	  --project Yonten -o lms/translations/messages.pot .
	$(BIN)/pybabel --quiet update -i lms/translations/messages.pot -d lms/translations -D messages \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python -m lms.translations.fill_english

lint: install-dev
	$(BIN)/ruff check lms tests bench migrations

bench: install-dev translations
	@missing="$(call missing_debs,$(BENCH_DEBS))"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing $$missing from Debian's packages"; $(call apt_install,$$missing); fi
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(STAMPS) instance .pytest_cache
