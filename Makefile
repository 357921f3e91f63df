# The two commands in the README: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# requirements.lock: the server's runtime dependencies at exact versions, as the image installs
# them; `make lock` regenerates it from pyproject.toml with what PyPI had on LOCK_DATE (move the
# date on to take newer releases). The venv is held to the same versions.
LOCK_DATE := 2026-12-01

.PHONY: demo test lint lock bench bench-metrics bench-load clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/shipbot console --catalog examples/demo/catalog.yaml

test: $(STAMP)  # two processes, one test file each at a time: under 5 minutes on 2 cores
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	    --exclude-newer $(LOCK_DATE) --quiet -o requirements.lock

bench: $(STAMP)
	$(BIN)/python bench/ack_path.py

bench-metrics: $(STAMP)  # a 90-day /metrics summary over 10k and 1M deploys (~6 min here)
	$(BIN)/python bench/metrics.py

bench-load: $(STAMP)  # 50 lanes, 2 workers, 1,000 approvals by 20 clients, then exactly-once checks
	$(BIN)/python bench/load.py --services 50 --approvals 1000 --clients 20 --workers 2

clean:
	rm -rf $(VENV) demo-site .pytest_cache .mypy_cache .ruff_cache
