# perpx: every target sets itself up from nothing but Python 3.11.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ANVIL   := .cache/npm/node_modules/.bin/anvil
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYTHONPATH := $(CURDIR)
export MPLBACKEND := Agg

.PHONY: setup native compile test demo bench bench-gas anvil clean

$(STAMP): requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e . 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import ape, vyper, boa, snekmate, coincurve, engine"
	touch $(STAMP)

setup: $(STAMP)

# anvil, a real JSON-RPC node, from the npm registry (bound to 127.0.0.1 by its users)
$(ANVIL):
	npm install --silent --no-audit --no-fund --prefix .cache/npm @foundry-rs/anvil@1.7.1
	$(ANVIL) --version

anvil: $(ANVIL)

# the engine core compiled with Cython, in place (scripts/build_native.py); rebuilt when
# a module of engine/core or its .pxd changes
NATIVE  := engine/core/native.json
$(NATIVE): $(STAMP) scripts/build_native.py $(wildcard engine/core/*.py engine/core/*.pxd engine/core/*.h)
	$(BIN)/python scripts/build_native.py

native: $(NATIVE)

compile: setup $(NATIVE)
	$(BIN)/ape compile

# two workers, each test file whole on one of them (module fixtures deploy once)
test: compile anvil
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not bench and not slow" tests

demo: compile
	$(BIN)/perpx demo

bench: compile anvil
	$(BIN)/pytest -q -s -m bench tests/bench

bench-gas: compile
	$(BIN)/python scripts/bench_gas.py

clean:
	rm -rf $(VENV) .build .pytest_cache build $(NATIVE) engine/core/*.so engine/core/*.c
