# clustlib: every target sets the project up first when needed. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PYTHON    ?= $(shell command -v python3.11 || command -v python3)
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.clustlib-installed
PROFILE   ?= smoke
PYTEST_ARGS ?=
LANES     ?= $(if $(filter smoke,$(PROFILE)),2,1)
FASHION_MNIST_DIR := /usr/share/datasets/fashion-mnist

.PHONY: help env reproduce test test-fast measure-scores fidelity figures-index lab bench sync lint clean-runs fashion-mnist \
        chromium report

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

env: $(STAMP) fashion-mnist chromium ## Create .venv (Python 3.11), install torch, the project and its test extras, the Jupyter kernel

$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "Creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@$(PY) -c 'import sys; assert sys.version_info[:2] >= (3, 10), sys.version' \
	  || { echo "Python >= 3.10 is needed (3.11 recommended); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m ipykernel install --sys-prefix --name clustlib --display-name "Python (clustlib)" >/dev/null
	@touch $(STAMP)

fashion-mnist: ## Install Debian's dataset-fashion-mnist when missing (root on Debian only; otherwise say so)
	@if [ -d $(FASHION_MNIST_DIR) ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian's dataset-fashion-mnist (Fashion-MNIST as IDX files)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
	    || echo "apt-get could not install dataset-fashion-mnist; put the IDX files under \$$CLUSTLIB_DATA/fashion_mnist instead"; \
	else \
	  echo "Note: Fashion-MNIST not found at $(FASHION_MNIST_DIR). On Debian run 'sudo apt-get install dataset-fashion-mnist';"; \
	  echo "      elsewhere 'clustlib data download fashion_mnist' (needs a network) fills \$$CLUSTLIB_DATA."; \
	fi

chromium: ## Install Debian's chromium when missing (root on Debian only): the HTML report test renders with it
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian's chromium (headless browser for the HTML report test)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "apt-get could not install chromium; the HTML report test will skip its rendering check"; \
	else \
	  echo "Note: no chromium; the HTML report test skips its rendering check (Debian: 'sudo apt-get install chromium')."; \
	fi

reproduce: env ## Run every study notebook on the smoke profile (PROFILE=full for paper scale; LANES=2 side by side)
	$(VENV)/bin/clustlib run all --profile $(PROFILE) --lanes $(LANES)

test: env ## Run the whole test suite, slow tests included (tiny `ci` profile; gpu/network tests skip and say so)
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

test-fast: env ## The edit-test loop: the suite without tests marked `slow` (make test runs everything)
	@$(PY) -m pytest -m "not slow" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

measure-scores: env ## Sweep the `score` tests over seeds 0-4 and print the range every threshold rests on
	$(PY) tests/measure_scores.py 0 1 2 3 4

fidelity: env ## Regenerate FIDELITY.md (the paper-vs-ours ledger) from the committed evidence/ files
	$(VENV)/bin/clustlib fidelity --write

report: env ## Build the static HTML report of the latest runs under report/ (PROFILE=smoke; open report/index.html)
	$(VENV)/bin/clustlib report --html --profile $(PROFILE)

figures-index: env ## Rewrite the committed figures/README.md from the figures on disk (runs never rewrite it)
	$(PY) -c "from clustlib.figure_index import write_figures_readme; write_figures_readme()"

lab: env ## Start JupyterLab on the project with the `Python (clustlib)` kernel (the notebooks run on `interactive`)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. $$([ "$$(id -u)" = 0 ] && echo --allow-root)

bench: env ## Run the benchmarks (numbers go to benchmarks/RESULTS.md by hand)
	@for script in benchmarks/bench_*.py; do echo "==> $$script"; $(PY) $$script || exit 1; done

sync: env ## Regenerate notebooks/*.ipynb from their py:percent twins (outputs stripped)
	$(VENV)/bin/jupytext --sync notebooks/*.py

clean-runs: ## Delete runs/, results/ and figures/<profile>/ (keeps caches)
	rm -rf runs results figures/ci figures/smoke figures/full
