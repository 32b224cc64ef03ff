# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INDEX ?= index
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test test-fast install install-test lock chromium lucene bench bench-lucene lint format clean

# The venv's own pip (the one `python -m venv` bundles) installs the locked versions, hash-checked, then newsearch
# itself without resolving anything: two fresh machines run the same versions. `make lock` regenerates the locks.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements-test.lock | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r requirements-test.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(VENV)/.installed $@

# Byte-compile the sources: where PYTHONDONTWRITEBYTECODE is set, every `newsearch` run would compile them again
# (0.08 s of a 0.5 s one-shot query).
install: $(VENV)/.installed
	@$(BIN)/python -m compileall -q src >/dev/null

install-test: $(VENV)/.installed-test
	@$(BIN)/python -m compileall -q src >/dev/null

# Both locks cover Python 3.10 and later on every platform, with the hashes of every file PyPI serves.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.10 --generate-hashes --no-header -q
lock: | $(BIN)/python
	$(BIN)/python -m pip install -q uv==0.13.8
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra test -o requirements-test.lock

# Index the bundled sample corpus (incrementally) and serve the UI on http://$(HOST):$(PORT)/.
# An index left by an older version (exit code 3) is rebuilt with --full rather than stopping the demo.
demo: install
	$(BIN)/newsearch index examples --index $(INDEX); rc=$$?; \
	if [ $$rc -eq 3 ]; then $(BIN)/newsearch index examples --index $(INDEX) --full; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi
	$(BIN)/newsearch serve --index $(INDEX) --host $(HOST) --port $(PORT)

# The whole suite, browser tests included (installs Debian's chromium when missing).
test: install-test chromium
	$(BIN)/python -m pytest

test-fast: install-test
	$(BIN)/python -m pytest -m "not slow and not browser"

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Lucene 8 from Debian (and a JDK to compile bench/lucene/LuceneBench.java) for the peer of issue 18.
lucene:
	@{ ls /usr/share/java/lucene-core-8*.jar >/dev/null 2>&1 && command -v javac >/dev/null 2>&1; } || { \
		echo "installing Debian's liblucene8-java and a JDK for the Lucene peer"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblucene8-java \
			$$(command -v javac >/dev/null 2>&1 || echo default-jdk-headless) >/dev/null; }

# Everything: speed and scale (bench/run.py), then newsearch against Lucene on the known-item subset.
bench: install-test lucene
	$(BIN)/python bench/run.py
	$(BIN)/python bench/bench_lucene.py

# Only newsearch against Lucene (issue 18): indexing, long queries, ranking, short faceted queries.
bench-lucene: install-test lucene
	$(BIN)/python bench/bench_lucene.py

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install-test
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) $(INDEX)/* .pytest_cache
