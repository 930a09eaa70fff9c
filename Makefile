# The README's two commands. Each creates .venv and installs the package on first use.
# torch is pinned (and installed first) so pip takes the local CPU build, not a multi-GB CUDA one.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p demo-output
	$(BIN)/lifresponse response --means -0.5:1.0:0.01 --stds 0.1,0.2,0.5,1.0 --csv demo-output/response.csv --plot demo-output/response.png

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check lifresponse tests benchmarks

clean:
	rm -rf $(VENV) demo-output
