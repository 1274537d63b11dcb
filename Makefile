# keyward: `make help` lists the targets.
CARGO ?= cargo
PYTHON ?= python3
PREFECT_VENV := target/prefect-venv
PREFECT3_VENV := target/prefect3-venv
NPM ?= npm
UI_DEPS := tests/ui/node_modules/.package-lock.json
DB ?= keyward.db
LISTEN ?= 127.0.0.1:4200

# The PostgreSQL `make pg` starts; each test makes a database of its own.
PG_URL ?= postgres://keyward:keyward@127.0.0.1:5432/postgres

OPS ?= 20000
SEED ?= $(shell date +%s)

FUZZ_CASES ?= 20000

.PHONY: fuzz help run install deps pg test test-pg test-ui differential lint fmt schema snapshots prefect-venv prefect3-venv ui-deps clean-db bench bench-micro bench-load bench-pg

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: ## Build and serve on 127.0.0.1:4200 with ./keyward.db, bootstrapping an empty one (make run LISTEN=127.0.0.1:8000)
	$(CARGO) run --bin keyward -- serve --db $(DB) --listen $(LISTEN)

install: ## Install the keyward binary into ~/.cargo/bin (cargo install --path . --locked)
	$(CARGO) install --path . --locked

deps: ## Install what the tests need from Debian when missing (apt-get as root; otherwise prints the command)
	./.ci/deps

test: deps lint prefect-venv prefect3-venv ui-deps pg ## Install what is missing (deps), then formatting, clippy, unit, black-box, snapshot, policy, nginx, Prefect 1 CLI, Prefect 3 server and browser tests, then the black-box suite again on PostgreSQL
	$(CARGO) test --locked
	KEYWARD_TEST_POSTGRES=$(PG_URL) $(CARGO) test --locked --test api

test-pg: deps pg ## Only the black-box suite, on PostgreSQL (PG_URL: a role that may create databases)
	KEYWARD_TEST_POSTGRES=$(PG_URL) $(CARGO) test --locked --test api

pg: ## Start Debian's PostgreSQL for the tests when it is down, with a keyward role (as root; otherwise prints the commands)
	./.ci/postgres

test-ui: deps ui-deps ## Only the web console's browser tests (headless chromium; screenshots in target/ui-screenshots/)
	$(CARGO) test --locked --test api console::

differential: ## The randomized differential tests, longer (OPS=20000, SEED=<now>, lists for every key; make test runs 3,000 operations and 40 list callers with a fixed seed)
	KEYWARD_OPS=$(OPS) KEYWARD_SEED=$(SEED) KEYWARD_CALLERS=100000 $(CARGO) test --locked --test api differential -- --nocapture

fuzz: deps ## Bounded long checks of what strangers send: FUZZ_CASES=20000 requests through nginx to forward-auth (SEED=<now>), the memory and log bounds (a few minutes)
	KEYWARD_FUZZ_CASES=$(FUZZ_CASES) KEYWARD_SEED=$(SEED) $(CARGO) test --locked --test api -- --nocapture fuzz_ strangers::

bench: bench-micro bench-load ## Criterion micro-benchmarks, then the wrk load run (needs wrk; see BENCHMARKS.md)

bench-micro: ## Criterion: key parse, cache hit, cache miss, Cedar decision (about a minute)
	$(CARGO) bench --locked --bench verify

bench-load: ## wrk against a release server with 10,000 and 1,000,000 keys (a few minutes)
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
	$(CARGO) build --release --locked --bin keyward --example bench_fixture
	$(PYTHON) benches/load.py

bench-pg: pg ## keyward on PostgreSQL (one replica, three behind nginx) beside SQLite, and revocation propagation (needs wrk; several minutes)
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
	$(CARGO) build --release --locked --bin keyward --example bench_fixture
	PG_URL=$(PG_URL) $(PYTHON) benches/load_pg.py

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt

schema: ## Write the served GraphQL schema to schema.graphql
	$(CARGO) run --quiet --bin keyward -- schema > schema.graphql

snapshots: ## Review changed insta snapshots (needs cargo-insta)
	$(CARGO) insta review

prefect-venv: $(PREFECT_VENV)/bin/prefect ## The Prefect 1.4.1 CLI the integration test drives (built once)

$(PREFECT_VENV)/bin/prefect:
	$(PYTHON) -m venv $(PREFECT_VENV)
	$(PREFECT_VENV)/bin/pip install --quiet --disable-pip-version-check prefect==1.4.1
	@test -x $@

prefect3-venv: $(PREFECT3_VENV)/bin/prefect ## Prefect 3.9.1 (server, CLI, worker) for the Prefect 3 behind nginx test (built once)

$(PREFECT3_VENV)/bin/prefect:
	$(PYTHON) -m venv $(PREFECT3_VENV)
	$(PREFECT3_VENV)/bin/pip install --quiet --disable-pip-version-check prefect==3.9.1
	@test -x $@

ui-deps: $(UI_DEPS) ## playwright-core for the browser tests (npm ci in tests/ui; the browser is Debian's chromium)

$(UI_DEPS): tests/ui/package.json tests/ui/package-lock.json
	$(NPM) ci --prefix tests/ui --no-audit --no-fund
	@test -f $@

clean-db: ## Remove the local database made by `make run`
	rm -f $(DB) $(DB)-wal $(DB)-shm
