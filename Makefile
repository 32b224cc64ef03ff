# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INDEX ?= index
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test test-fast install chromium bench lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# Byte-compile the sources: where PYTHONDONTWRITEBYTECODE is set, every `newsearch` run would compile them again
# (0.08 s of a 0.5 s one-shot query).
install: $(VENV)/.installed
	@$(BIN)/python -m compileall -q src >/dev/null

# Index the bundled sample corpus (incrementally) and serve the UI on http://$(HOST):$(PORT)/.
# An index left by an older version (exit code 3) is rebuilt with --full rather than stopping the demo.
demo: install
	$(BIN)/newsearch index examples --index $(INDEX); rc=$$?; \
	if [ $$rc -eq 3 ]; then $(BIN)/newsearch index examples --index $(INDEX) --full; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi
	$(BIN)/newsearch serve --index $(INDEX) --host $(HOST) --port $(PORT)

# The whole suite, browser tests included (installs Debian's chromium when missing).
test: install chromium
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser"

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

bench: install
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) $(INDEX)/* .pytest_cache
