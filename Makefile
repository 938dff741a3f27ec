# One command for each loop: make run, make test, make bench, make lint.
# `make run` needs only python3 (3.11+) and npm: SQLite and the offline demo model.
# `make test` also needs Debian's chromium, postgresql, redis-server and tesseract-ocr (with its
# English data) (make deps-system); without tesseract `make run` works, OCR shows as unavailable.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Stamps: reinstall only when the file that pins the dependencies changes.
VENV_STAMP := $(VENV)/.hyperchat-deps
NODE_STAMP := node_modules/.hyperchat-deps
# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k share -x"
PYTEST_ARGS ?=
# fonts-dejavu-core: the tests draw text in DejaVu Sans for OCR to read.
SYSTEM_PACKAGES := chromium postgresql redis-server tesseract-ocr tesseract-ocr-eng fonts-dejavu-core

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: deps venv node deps-system run test bench lint clean migrations screenshots

deps: venv node

venv: $(VENV_STAMP)

node: $(NODE_STAMP)

$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "$(PYTHON) is older than 3.11: make PYTHON=python3.11 ..." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "pip install -e '.[test]'"
	@$(PY) -m pip install -q -e '.[test]'
	@touch $@

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Installs only what is missing; apt-get update runs only then, so this is instant when present.
deps-system:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
		case $$p in \
			chromium) command -v chromium >/dev/null 2>&1 && continue ;; \
			redis-server) command -v redis-server >/dev/null 2>&1 && continue ;; \
			postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && continue ;; \
			tesseract-ocr) command -v tesseract >/dev/null 2>&1 && continue ;; \
		esac; \
		dpkg -s $$p >/dev/null 2>&1 && [ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p)" = installed ] \
			&& continue; \
		missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else echo "need root (or sudo) to install:$$missing" >&2; exit 1; fi; \
	echo "apt-get install$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q \
	&& $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing

run: deps
	$(PY) -m hyperchat

# Starts the throwaway PostgreSQL, runs the whole suite, always stops the server, then checks
# the speed budgets (a short benchmark, under a minute: see bench/run.py). Exits with pytest's
# status ("no tests collected", 5, counts as a failure), or 1 when a budget is broken.
test: deps deps-system
	@pg=$$(scripts/postgres.sh start) \
		|| { echo "PostgreSQL did not start: see $$(scripts/postgres.sh logs)" >&2; exit 1; }; \
	trap 'scripts/postgres.sh stop' EXIT; trap 'exit 130' INT TERM; \
	status=0; \
	TEST_POSTGRES_URL="$$pg" HYPERCHAT_REQUIRE_POSTGRES=1 HYPERCHAT_REQUIRE_REDIS=1 $(VENV)/bin/pytest $(PYTEST_ARGS) \
		|| status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; status=1; fi; \
	echo "== speed budgets (bench/run.py --budgets)"; \
	$(PY) bench/run.py --budgets || status=$$((status ? status : 1)); \
	exit $$status

# Streams and page weight (app and fake upstream as processes), then app-added TTFT at one
# stream over three runs (guest, signed in, /v1), then capacity (the largest steady rate of new
# replies that one worker, then two, sustain; about 3 minutes each), then /v1 beside LiteLLM's
# proxy (installed from PyPI into .venv-bench, never into the app's .venv), then search over 100,000
# messages, then server time for a 1,000-message conversation page, then the event loop's worst
# lag while heavy requests run (markdown, import, export, share), then files (extraction per
# page, upload throughput, stream frame gaps while a 200-page PDF is read). Figures only.
bench: deps deps-system
	$(PY) bench/run.py
	@echo; echo "== TTFT at one stream, three runs: guest, signed in, /v1"
	$(PY) bench/run.py --ttft-runs 3
	@echo; echo "== capacity: steady arrivals of new replies, one worker and two"
	$(PY) bench/run.py --capacity
	@echo; echo "== /v1 beside LiteLLM's proxy (LiteLLM in .venv-bench, made on first run)"
	$(PY) bench/run.py --v1-vs-litellm
	@echo; echo "== search"; $(PY) bench/search_bench.py
	@echo; echo "== page render"; $(PY) bench/page_bench.py
	@echo; echo "== heavy requests (event loop lag)"; $(PY) bench/stall_bench.py
	@echo; echo "== files (extraction per page, upload, 50 streams during a 200-page PDF)"; \
		$(PY) bench/files_bench.py
	@echo; echo "== group room (one reply to every member's tab)"; $(PY) bench/room_bench.py

# PNGs of every page and state at 1280x800 and 390x844, light and dark (needs chromium).
screenshots: deps deps-system
	$(PY) scripts/screenshots.py $(OUT)

lint: venv
	$(VENV)/bin/ruff check src tests $(wildcard bench)

clean:
	-@scripts/postgres.sh stop || true
	rm -rf .venv .venv-bench node_modules .tmp data

# make migrations NAME=add_pinned: writes the migration for both dialects (needs PostgreSQL).
ifneq ($(filter migrations,$(MAKECMDGOALS)),)
ifeq ($(strip $(NAME)),)
$(error usage: make migrations NAME=what_changed)
endif
endif
migrations: deps deps-system
	scripts/makemigrations $(NAME)
