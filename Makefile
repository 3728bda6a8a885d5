# One command to set up and run the main job, one to set up and run the tests.
# Both create (or reuse) the local virtual environment .venv by themselves.

VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev,distributed,viz
STAMP  := $(VENV)/.installed-$(EXTRAS)
# Python 3.12+ is needed (Mesa 3.5); .python-version selects it under pyenv.
PYTHON ?= $(shell for p in python3.12 python3.13 python3; do \
            command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' \
            && { echo $$p; break; }; done)

.PHONY: main test chromium bench clean-venv

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

main: $(STAMP)  ## validate the scenarios, then the default scenario's batch with plots
	$(BIN)/wargame validate scenarios/*.yaml seeds/claims.yaml
	$(BIN)/wargame batch scenarios/allied_resolve_2022.yaml

test: $(STAMP) chromium  ## lint, then the whole test suite
	$(BIN)/ruff check sim tests
	$(BIN)/ruff format --check sim tests
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

clean-venv:
	rm -rf $(VENV)
