# kaigo-graph — two commands do everything: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-db lint format typecheck schema docs bench bench-peers lock graphiql clean

install: $(STAMP)

# The lock file pins every package with its hash; the project itself is installed editable on top.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Embedded PostgreSQL under $$KAIGO_DATA_DIR (./.data) unless DATABASE_URL is set; migrate; register the
# receiving departments' documents (documents/*.json, idempotent); seed a demo city when empty
# ($$SEED_PERSONS insured); print a dev token per role; serve on $$HOST:$$PORT.
run: $(STAMP)
	$(BIN)/kaigo pq import documents/*.json
	$(BIN)/kaigo serve --migrate --seed-if-empty --print-tokens

test: $(STAMP)
	$(BIN)/python -m pytest

# The database tests only (CI runs them a second time against another server).
test-db: $(STAMP)
	$(BIN)/python -m pytest -m db

# ruff, and the layer rule (import-linter: the contracts in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy api schema resolvers persistence policies

# The committed SDL (schema/sdl/: the whole schema, each role's view and the receiving department's once
# per department, receiving_department.DEPT.graphql, as `kaigo schema [--role R [--department D]]` prints
# them), rewritten from the code; files of views that no longer exist are removed. tests/test_schema_sdl.py
# holds them equal, and asks CHANGELOG.md to name every change that breaks a client.
schema: $(STAMP)
	$(BIN)/kaigo schema --out schema/sdl

# The documentation site (docs/, mkdocs.yml) into site/; CI builds it with --strict (a broken link fails).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# Figures, never assertions (issue 8): wrk against `kaigo serve` with production settings, the asyncpg floor,
# the layers, scale; writes bench/results/. Needs wrk (installed with apt-get when missing and root).
# `make bench BENCH_ARGS=--quick` is the few-minute smoke run; then bench/writes.py (the write side, issue 18).
# The single-purpose scripts stay runnable: bench/seed_city.py, bench/persisted_vs_text.py,
# bench/security_overhead.py, bench/peers.py.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/writes.py $(BENCH_ARGS)

# kaigo side by side with PostGraphile 5 and the asyncpg floor (issue 14; also a section of `make bench`).
# Installs PostGraphile and Node 22 from npm under bench/peers/postgraphile/ on first use.
bench-peers: $(STAMP)
	$(BIN)/python bench/peers.py $(BENCH_ARGS)

# Re-pin after changing dependencies in pyproject.toml (needs network access to PyPI).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

# Rebuild GraphiQL's vendored files (api/graphiql/vendor/, committed) from the versions pinned in
# api/graphiql/package-lock.json, with their licences: after changing a pin (`npm install --package-lock-only
# PKG@VERSION` there). Needs node and npm; `make run` and `make test` need neither.
graphiql:
	cd api/graphiql && npm ci --no-audit --no-fund --ignore-scripts && node build.mjs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
