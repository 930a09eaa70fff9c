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

# The main job on NEST, small enough for a few seconds: response curves (Fig. 1), a
# Poisson-driven calibration sweep (tau_syn 5 ms) and its Noisy Softplus fit (Fig. 2/4, 7).
DEMO := demo-output
demo: $(STAMP)
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(BIN)/lifresponse response --means -0.5:1.0:0.01 --stds 0.1,0.2,0.5,1.0 --csv $(DEMO)/response.csv --plot $(DEMO)/response.png
	$(BIN)/lifresponse calibrate --drive poisson --tau-syn 5 --means -0.5:1.0:0.1 --stds 0.2,0.6,1.0 --trials 5 --duration 2000 --threads 2 --out $(DEMO)/rates.h5
	$(BIN)/lifresponse fit $(DEMO)/rates.h5 --out $(DEMO)/calibration.json --plot $(DEMO)/fit.png
	@echo "demo finished: results and figures in $(DEMO)/"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check lifresponse tests benchmarks

clean:
	rm -rf $(VENV) demo-output
