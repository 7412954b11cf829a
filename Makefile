# perpx: every target sets itself up from nothing but Python 3.11.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYTHONPATH := $(CURDIR)
export MPLBACKEND := Agg

.PHONY: setup compile test test-fast demo bench bench-gas clean

$(STAMP): requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e . 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import ape, vyper, boa, snekmate, coincurve, engine"
	touch $(STAMP)

setup: $(STAMP)

compile: setup
	$(BIN)/ape compile

test: compile
	$(BIN)/pytest -q -m "not bench and not slow" tests

demo: compile
	$(BIN)/perpx demo

bench: compile
	$(BIN)/pytest -q -s -m bench tests/bench

bench-gas: compile
	$(BIN)/python scripts/bench_gas.py

clean:
	rm -rf $(VENV) .build .pytest_cache
