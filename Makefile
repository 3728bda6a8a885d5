# One command to set up and run the main job, one to set up and run the tests.
# Both create (or reuse) the local virtual environment .venv by themselves and
# install exactly the versions in requirements.lock (see "Dependencies" in the
# README for how to refresh it).

VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
STAMP  := $(VENV)/.installed
# Python 3.12+ is needed (Mesa 3.5); .python-version selects it under pyenv.
PYTHON ?= $(shell for p in python3.12 python3.13 python3; do \
            command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' \
            && { echo $$p; break; }; done)
# The lock is resolved by uv (a pinned release, in a tool environment of its own).
UV_VERSION := 0.13.8
LOCK_TOOLS := .lock-tools

.PHONY: main test chromium bench lock clean-venv

# The lock pins every package of every extra, pip and the build backend
# included; PIP_CONSTRAINT carries the pins into the isolated build of our own
# package, so nothing unpinned is ever installed.
$(STAMP): pyproject.toml $(LOCK)
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(LOCK) pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	PIP_CONSTRAINT=$(CURDIR)/$(LOCK) $(BIN)/python -m pip install --quiet --no-deps -e .
	@# bytecode of our own modules (an editable install has none), so that no command
	@# compiles them from source where PYTHONDONTWRITEBYTECODE is set (some 0.2 s each)
	$(BIN)/python -m compileall -q sim
	@touch $(STAMP)

main: $(STAMP)  ## validate the scenarios, then the default scenario's batch with plots
	$(BIN)/wargame validate scenarios/*.yaml seeds/claims.yaml
	@# the default scenario's compiled kernels, once (some 15 s; then every batch of it can use them)
	$(BIN)/wargame validate --compile scenarios/allied_resolve_2022.yaml
	$(BIN)/wargame batch scenarios/allied_resolve_2022.yaml

test: $(STAMP) chromium  ## lint, then the whole test suite
	$(BIN)/ruff check sim tests
	$(BIN)/ruff format --check sim tests
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The viewer's browser test drives Debian's Chromium (no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else \
	    echo "chromium is missing and cannot be installed here: the browser test will be skipped"; \
	  fi; }

bench: $(STAMP)  ## the performance table (docs/performance.md)
	$(BIN)/python benchmarks/bench.py

# Re-resolve every dependency to the newest versions that pyproject.toml
# allows, for every platform, then run `make test` before committing the lock.
lock:
	@test -x $(LOCK_TOOLS)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOLS) && \
	  $(LOCK_TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION); }
	printf 'pip\nsetuptools>=69\n' | $(LOCK_TOOLS)/bin/uv pip compile pyproject.toml - \
	  --all-extras --universal --python-version 3.12 --upgrade --no-header -o $(LOCK)

clean-venv:
	rm -rf $(VENV)
