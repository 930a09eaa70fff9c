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

# The main job on NEST with the bundled digits: the whole method (calibration, fit, training,
# fine tuning, SNN deployment, energy) in its quick size, and a report beside the paper's
# numbers: demo-output/report.html. Re-running continues where an interrupted run stopped.
DEMO := demo-output
demo: $(STAMP)
	$(BIN)/lifresponse reproduce --quick --out $(DEMO)
	@echo "demo finished: open $(DEMO)/report.html (or read $(DEMO)/report.md)"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check lifresponse tests benchmarks

clean:
	rm -rf $(VENV) demo-output
