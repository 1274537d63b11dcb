# keyward: `make help` lists the targets.
CARGO ?= cargo
PYTHON ?= python3
PREFECT_VENV := target/prefect-venv
DB ?= keyward.db
LISTEN ?= 127.0.0.1:4200

.PHONY: help run test lint fmt schema snapshots prefect-venv clean-db

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: ## Build and serve on 127.0.0.1:4200 with ./keyward.db (bootstraps an empty database)
	$(CARGO) run --bin keyward -- serve --db $(DB) --listen $(LISTEN)

test: lint prefect-venv ## Formatting, clippy, unit, black-box, snapshot and Prefect CLI tests
	$(CARGO) test --all-targets --locked

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

clean-db: ## Remove the local database made by `make run`
	rm -f $(DB) $(DB)-wal $(DB)-shm
