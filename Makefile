# Two commands on a fresh machine:  make demo  and  make test.
# Both create .venv and install everything first (torch pinned to the CPU build on disk).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0

.PHONY: demo test setup system clean bench gallery

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(MAKE) system
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[torch,onnx,render,search,dev]"
	touch $(STAMP)

# graphviz's `dot` for diagrams; PostgreSQL for the shared-study tests. Best effort: the
# suite skips what needs a missing system binary and says so.
system:
	@command -v dot >/dev/null 2>&1 || { (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) || echo "warning: could not install graphviz"; }

demo: setup
	$(BIN)/python -m archlang.demo

test: setup
	$(BIN)/python -m pytest tests

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
