# stagegate: two commands do everything on a fresh clone.
#   make gate [STAGE=name]   conformance + load + report + verdict
#   make test                the project's own tests
# make exits 2 whenever a recipe fails, so `make gate` prints stagegate's own exit code; CI and
# scripts that act on it run `.venv/bin/stagegate gate --stage NAME` (0 pass, 1 fail, 2 config, 3 inconclusive).
STAGE ?= local
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GATE_ARGS ?=

.PHONY: gate test lint setup clean bench

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# Allure 3 (single-file HTML report), pinned in package-lock.json, installed into the project.
# Without node/npm the gate still writes every other result and says how to render the HTML.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: the HTML report will not be rendered (everything else is written)"; \
	fi

gate: $(VENV)/.installed
	@$(MAKE) --no-print-directory node_modules/.installed || true
	@$(VENV)/bin/stagegate gate --stage $(STAGE) $(GATE_ARGS); code=$$?; \
	if [ $$code -ne 0 ]; then \
		echo "make gate: stagegate exited $$code (1 fail, 2 configuration error, 3 inconclusive); make reports 2 for any of them: run .venv/bin/stagegate gate --stage $(STAGE) for the exact code"; \
	fi; exit $$code

test: $(VENV)/.installed
	@$(MAKE) --no-print-directory node_modules/.installed || true
	$(PY) -m pytest tests -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy fixtures reports load conformance discover

bench: $(VENV)/.installed
	$(PY) bench/emulator_bench.py
	$(PY) bench/driver_bench.py
	$(PY) bench/model_bench.py

clean:
	rm -rf out
