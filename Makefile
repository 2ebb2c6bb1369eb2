# Two commands for a fresh machine: `make run` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# In a checkout the database and caches live in its data/ directory; an installed crossforce
# without CROSSFORCE_DATA_DIR uses the per-user data directory instead.
export CROSSFORCE_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test install lock lint typecheck bench clean

# Dependencies come from requirements.lock (every version pinned, every file hashed), then the
# project itself, editable, without letting pip choose anything else.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-pin requirements.lock after changing dependencies in pyproject.toml (needs PyPI).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra postgres --extra oidc --extra test \
		--generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--no-header -o requirements.lock

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
