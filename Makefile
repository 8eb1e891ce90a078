# Two entry points (see README): `make demo` and `make test`.
PYTHON ?= python3
PIP = $(PYTHON) -m pip
PORT ?= 8888

.PHONY: demo test install apps install-test-deps test-python test-frontend test-r test-ui bench

DEMO_IMAGE = .demo/data-science

demo: install apps $(DEMO_IMAGE)/installed
	jupyter spaces --demo --ip 127.0.0.1 --port $(PORT) --config scripts/demo_config.py

# the demo's second image: a venv with jupyter-spaces and a data-science set, installed
# anew when the project changed (a space cannot run on an image with an older agent)
$(DEMO_IMAGE)/installed: pyproject.toml $(shell find jupyter_spaces -name '*.py' 2>/dev/null)
	$(PYTHON) -m venv $(DEMO_IMAGE)
	$(DEMO_IMAGE)/bin/pip install . pandas matplotlib
	touch $@

install:
	$(PIP) install .

# code-server and MLflow for Code Editor and MLflow spaces (scripts/install-apps.sh)
apps:
	bash scripts/install-apps.sh

test: install-test-deps test-python test-frontend test-r test-ui

install-test-deps:
	bash scripts/install-test-deps.sh

test-python:
	$(PYTHON) -m pytest

test-frontend:
	cd labextension && jlpm test && jlpm lint:check

test-r:
	bash rstudio_addin/check.sh

test-ui:
	bash ui-tests/run.sh

bench:
	$(PYTHON) bench/bench_domain_list.py
	$(PYTHON) bench/bench_start.py
	$(PYTHON) bench/bench_app_start.py
	$(PYTHON) bench/bench_slurm_start.py
	$(PYTHON) bench/bench_proxy.py
	$(PYTHON) bench/collab/bench_collab.py
	$(PYTHON) bench/bench_pageload.py
	$(PYTHON) bench/bench_many.py
