# Two commands for a fresh machine: `make run` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# In a checkout the database and caches live in its data/ directory; an installed crossforce
# without CROSSFORCE_DATA_DIR uses the per-user data directory instead.
export CROSSFORCE_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test install lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Migrate, load reference data (the national pack when CROSSFORCE_REFERENCE_DIR is set, else the
# approximate London default), seed the synthetic demo caseload on the first run only, print the
# demo accounts to sign in with (development only: production has none), then serve the app on
# http://127.0.0.1:8501.
run: $(STAMP)
	$(BIN)/crossforce init
	$(BIN)/crossforce demo --if-empty --offenders 2000 --seed 1
	@$(BIN)/crossforce users demo-accounts
	$(BIN)/streamlit run app.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/resolve.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
